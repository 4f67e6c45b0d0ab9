//! The executor: a token game over the model's arenas.
//!
//! State is a tree of *scopes* (the process instance, each embedded sub-process, each called
//! process, each multi-instance body and each of its inner instances) and a set of *tokens*, each
//! sitting at one flow node inside one scope. An activity that contains other nodes (sub-process,
//! call activity, multi-instance body) keeps its token parked (`Active`) while its child scope
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
//! Error rule: a command that cannot be applied (wrong task, rejected submission, no such
//! subscription) is detected *before* anything changes and returned as `CommandError`; a failure
//! while running (script error, no flow selected) is not a command error but an *incident*
//! recorded on the element, and the instance becomes FAILED until retried.

use crate::api::{CommandError, Effect, Event, Incident, Status, Subscription, User, Waiting};
use crate::clock::Clock;
use crate::model::{
    Deployment, FlowId, FlowNode, GatewayKind, Looping, NodeId, NodeKind, ScriptId, TaskKind,
    TimerDef, Trigger,
};
use crate::script::{ScriptError, ScriptHost, ScriptInput, ScriptOutcome};
use crate::timer;
use crate::validate::{validate, validate_stored, Problem, Severity};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

type ScopeId = u32;
type TimerParser = fn(&str) -> Result<timer::Schedule, timer::TimerError>;

/// Flow-node executions one command may cause before the engine assumes an endless loop.
const MAX_STEPS: u32 = 1_000_000;
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
}

/// What a command runs with.
pub struct Ctx<'a> {
    pub clock: &'a dyn Clock,
    /// The user submitting (for `currentUser` and access checks).
    pub user: Option<&'a User>,
    /// Enforce ResponsibleUser / ResponsibleTeam.
    pub enforce_access: bool,
    /// The command bus scripts may call (`doQuery`, `doCmd`); None where there is none.
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
    subs: Vec<Sub>,
    next_sub: u32,
    path: Vec<NodeId>,
    incidents: Vec<IncidentRec>,
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

impl Engine {
    /// Compiles every script once, validates, and precomputes lookup tables.
    /// Returns the warnings on success, every problem when any is an error.
    pub fn new(deployment: Deployment) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        Self::build(deployment, false)
    }

    /// Builds the engine of a definition deployed before, whose instances must keep running:
    /// deploy checks added since then are warnings here (see [`validate_stored`]).
    pub fn reload(deployment: Deployment) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        Self::build(deployment, true)
    }

    fn build(deployment: Deployment, stored: bool) -> Result<(Engine, Vec<Problem>), Vec<Problem>> {
        let mut scripts = ScriptHost::new();
        let script_errors = scripts.compile_all(&deployment.sources);
        let problems = if stored {
            validate_stored(&deployment, &script_errors)
        } else {
            validate(&deployment, &script_errors)
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
        };
        engine.precompute();
        Ok((engine, problems))
    }

    fn precompute(&mut self) {
        let d = &self.deployment;
        for (i, n) in d.nodes.iter().enumerate() {
            let id = i as NodeId;
            match &n.kind {
                NodeKind::Gateway(GatewayKind::Inclusive) if n.incoming.len() > 1 => {
                    self.inclusive_reach.insert(id, reverse_reach(d, id));
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
            match trig {
                Some(Trigger::Conditional(_)) => self.has_conditionals = true,
                Some(Trigger::Timer(def)) => {
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

    fn node(&self, id: NodeId) -> &FlowNode {
        self.deployment.node(id)
    }

    /// Starts an instance of `process_id` (or the only executable process).
    pub fn start(
        &self,
        process_id: Option<&str>,
        variables: Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(Instance, Vec<Effect>), CommandError> {
        self.start_at(process_id, None, variables, ctx)
    }

    /// The top-level start events of executable processes that a message (`"message"`) or a
    /// signal (`"signal"`) of this name starts: `(process id, start event id)`.
    pub fn starts_on(&self, kind: &str, name: &str) -> Vec<(String, String)> {
        self.top_level_starts()
            .filter(|(_, _, trigger)| match trigger {
                Trigger::Message(Some(m)) => kind == "message" && m == name,
                Trigger::Signal(Some(s)) => kind == "signal" && s == name,
                _ => false,
            })
            .map(|(p, n, _)| (p.to_string(), n.to_string()))
            .collect()
    }

    /// The timer start events of executable processes (top level): `(process id, start event
    /// id, schedule)`. A schedule given as an expression cannot be read without an instance and
    /// answers an error the host reports.
    pub fn timer_starts(&self) -> Vec<(String, String, Result<timer::Schedule, String>)> {
        self.top_level_starts()
            .filter_map(|(p, n, trigger)| match trigger {
                Trigger::Timer(def) => Some((p, n, def)),
                _ => None,
            })
            .map(|(p, n, def)| {
                let src = match def {
                    TimerDef::Date(s) | TimerDef::Duration(s) | TimerDef::Cycle(s) => Some(s),
                    TimerDef::Missing => None,
                };
                let sched = src.and_then(|s| self.timers.get(&s.id)).cloned().ok_or_else(|| {
                    format!(
                        "timer start event '{n}' needs a fixed timeDate, timeDuration or timeCycle to be scheduled (an expression has no instance to read from)"
                    )
                });
                (p.to_string(), n.to_string(), sched)
            })
            .collect()
    }

    /// `(process id, start event id, trigger)` of the top-level start events of executable
    /// processes.
    fn top_level_starts(&self) -> impl Iterator<Item = (&str, &str, &Trigger)> + '_ {
        let d = &self.deployment;
        d.processes
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_executable)
            .flat_map(move |(i, p)| {
                d.children_of(i as u32, None).iter().filter_map(move |c| {
                    match &self.node(*c).kind {
                        NodeKind::StartEvent { trigger, .. } => {
                            Some((p.id.as_str(), self.node(*c).id.as_str(), trigger))
                        }
                        _ => None,
                    }
                })
            })
    }

    /// Starts an instance at a chosen start event (`start_event`, e.g. the message start event
    /// a message arrived for), or at the default one.
    pub fn start_at(
        &self,
        process_id: Option<&str>,
        start_event: Option<&str>,
        variables: Map<String, Value>,
        ctx: &Ctx,
    ) -> Result<(Instance, Vec<Effect>), CommandError> {
        let _bus = crate::script::BusGuard::lend(ctx.bus.clone());
        let d = &self.deployment;
        let pidx = match process_id {
            Some(id) => d.process_by_id(id).map(|(i, _)| i).ok_or_else(|| {
                CommandError::NoProcess(format!("no process with id '{id}' in the files given"))
            })?,
            None => {
                let exec: Vec<usize> = d
                    .processes
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.is_executable)
                    .map(|(i, _)| i)
                    .collect();
                match exec.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(CommandError::NoProcess(
                            "the files contain no executable process".into(),
                        ))
                    }
                    many => {
                        // Several executable processes (e.g. a caller and its callees): take the
                        // first one that nobody calls.
                        let called: HashSet<&str> = d
                            .nodes
                            .iter()
                            .filter_map(|n| match &n.kind {
                                NodeKind::CallActivity { called_element } => {
                                    Some(called_element.as_str())
                                }
                                _ => None,
                            })
                            .collect();
                        *many
                            .iter()
                            .find(|&&i| !called.contains(d.processes[i].id.as_str()))
                            .unwrap_or(&many[0])
                    }
                }
            }
        };
        let start = match start_event {
            Some(id) => d
                .children_of(pidx as u32, None)
                .iter()
                .copied()
                .find(|&c| {
                    self.node(c).id == id
                        && matches!(self.node(c).kind, NodeKind::StartEvent { .. })
                })
                .ok_or_else(|| {
                    CommandError::NoProcess(format!(
                        "process '{}' has no start event '{id}'",
                        d.processes[pidx].id
                    ))
                })?,
            None => self.pick_start(pidx as u32, None).ok_or_else(|| {
                CommandError::NoProcess(format!(
                    "process '{}' has no start event",
                    d.processes[pidx].id
                ))
            })?,
        };
        let mut inst = Instance {
            status: Status::Running,
            process: pidx as u32,
            scopes: Vec::with_capacity(1),
            tokens: Vec::with_capacity(2),
            subs: Vec::new(),
            next_sub: 0,
            path: Vec::with_capacity(16),
            incidents: Vec::new(),
        };
        inst.scopes.push(Some(Scope {
            parent: None,
            owner: None,
            process: pidx as u32,
            container: None,
            kind: ScopeKind::Root,
            vars: variables,
            live: 0,
            done: Vec::new(),
        }));
        // A conditional start event starts only when its condition holds.
        if let NodeKind::StartEvent {
            trigger: Trigger::Conditional(Some(src)),
            ..
        } = &self.node(start).kind
        {
            let now = ctx.clock.now();
            match self.eval_condition(&inst, 0, src.id, now) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(CommandError::Invalid(format!(
                        "the start condition of '{}' is false for these variables",
                        self.node(start).id
                    )))
                }
                Err(e) => {
                    return Err(CommandError::Invalid(format!(
                        "the start condition of '{}' failed: {}",
                        self.node(start).id,
                        e.message
                    )))
                }
            }
        }
        let mut run = Run::new(&mut inst, ctx);
        self.open_scope_subs(&mut run, 0);
        let t = run.new_token(0, start);
        run.stack.push(t);
        self.run(&mut run);
        let effects = run.finish();
        Ok((inst, effects))
    }

    /// The start event a scope begins with: a none start event, else the first start event.
    fn pick_start(&self, process: u32, container: Option<NodeId>) -> Option<NodeId> {
        let children = self.deployment.children_of(process, container);
        let starts = children.iter().copied().filter(|&c| {
            matches!(self.node(c).kind, NodeKind::StartEvent { .. })
                && self.node(c).incoming.is_empty()
        });
        let mut first = None;
        for s in starts {
            if let NodeKind::StartEvent {
                trigger: Trigger::None,
                ..
            } = self.node(s).kind
            {
                return Some(s);
            }
            first.get_or_insert(s);
        }
        first
    }

    /// Applies an event. On `Err` the instance is unchanged.
    pub fn apply(
        &self,
        inst: &mut Instance,
        event: Event,
        ctx: &Ctx,
    ) -> Result<Vec<Effect>, CommandError> {
        let _bus = crate::script::BusGuard::lend(ctx.bus.clone());
        if inst.status.is_ended() {
            return Err(CommandError::Ended(inst.status.as_str()));
        }
        match event {
            Event::CompleteTask { task_id, data } => {
                self.complete_task(inst, task_id.as_deref(), data, ctx)
            }
            Event::Callback {
                correlation_key,
                data,
            } => self.callback(inst, &correlation_key, data, ctx),
            Event::Message {
                name,
                correlation_key,
                variables,
            } => {
                let now = ctx.clock.now();
                let sub = self
                    .find_message_sub(inst, &name, correlation_key.as_deref())
                    .ok_or_else(|| match &correlation_key {
                        Some(k) => CommandError::NoMatch(format!(
                            "nothing waits for message '{name}' with key '{k}'"
                        )),
                        None => {
                            CommandError::NoMatch(format!("nothing waits for message '{name}'"))
                        }
                    })?;
                let mut run = Run::new(inst, ctx);
                run.now = now;
                match sub {
                    MessageTarget::Sub(i) => {
                        let scope = run.inst.subs[i].scope;
                        self.set_vars(&mut run, scope, variables);
                        self.trigger_sub(&mut run, i);
                    }
                    MessageTarget::Receive(t) => {
                        let scope = run.inst.tok(t).scope;
                        self.set_vars(&mut run, scope, variables.clone());
                        self.finish_receive(&mut run, t, Value::Object(variables));
                    }
                }
                self.run(&mut run);
                Ok(run.finish())
            }
            Event::Signal { name, variables } => {
                let matches: Vec<u32> = inst
                    .subs
                    .iter()
                    .filter(|s| matches!(&s.kind, SubKind::Signal { name: n } if *n == name))
                    .map(|s| s.id)
                    .collect();
                if matches.is_empty() {
                    return Err(CommandError::NoMatch(format!(
                        "nothing waits for signal '{name}'"
                    )));
                }
                let mut run = Run::new(inst, ctx);
                if !variables.is_empty() {
                    self.set_vars(&mut run, 0, variables);
                }
                for id in matches {
                    if let Some(i) = run.inst.subs.iter().position(|s| s.id == id) {
                        self.trigger_sub(&mut run, i);
                    }
                }
                self.run(&mut run);
                Ok(run.finish())
            }
            Event::TimersDue => {
                let now = ctx.clock.now();
                let mut run = Run::new(inst, ctx);
                loop {
                    // Earliest due first; a firing may cancel or add others, so look again each time.
                    let next = run
                        .inst
                        .subs
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| match s.kind {
                            SubKind::Timer { due, .. } | SubKind::CallbackTimeout { due }
                                if due <= now =>
                            {
                                Some((due, s.id, i))
                            }
                            _ => None,
                        })
                        .min();
                    let Some((_, _, i)) = next else { break };
                    self.trigger_sub(&mut run, i);
                    self.run(&mut run);
                }
                Ok(run.finish())
            }
            Event::SetVariables { variables } => {
                let mut run = Run::new(inst, ctx);
                self.set_vars(&mut run, 0, variables);
                self.run(&mut run);
                Ok(run.finish())
            }
            Event::Cancel { reason: _ } => {
                let mut run = Run::new(inst, ctx);
                self.cancel_scope(&mut run, 0);
                run.inst.incidents.clear();
                run.inst.status = Status::Cancelled;
                run.effects.push(Effect::Ended {
                    status: Status::Cancelled,
                });
                Ok(run.effects)
            }
            Event::Retry { variables } => {
                if inst.incidents.is_empty() {
                    return Err(CommandError::NotWaiting(
                        "the instance has no open incident to retry".into(),
                    ));
                }
                let mut run = Run::new(inst, ctx);
                self.set_vars(&mut run, 0, variables);
                let failed: Vec<TokenId> = run.inst.incidents.drain(..).map(|r| r.token).collect();
                for t in failed.into_iter().rev() {
                    if let Some(tok) = run.inst.tokens.get_mut(t as usize).and_then(|t| t.as_mut())
                    {
                        tok.state = TokenState::Ready;
                        run.stack.push(t);
                    }
                }
                self.run(&mut run);
                Ok(run.finish())
            }
        }
    }

    // ----- commands against waiting tasks -------------------------------------------------

    fn complete_task(
        &self,
        inst: &mut Instance,
        task_id: Option<&str>,
        data: Value,
        ctx: &Ctx,
    ) -> Result<Vec<Effect>, CommandError> {
        let waiting: Vec<TokenId> = inst
            .live_tokens()
            .filter(|(_, t)| {
                matches!(
                    t.state,
                    TokenState::UserTask | TokenState::ReceiveTask { .. }
                )
            })
            .map(|(i, _)| i)
            .collect();
        let names = |ids: &[TokenId]| -> String {
            ids.iter()
                .map(|&t| self.node(inst.tok(t).node).id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let t = match task_id {
            Some(id) => {
                let found: Vec<TokenId> = waiting
                    .iter()
                    .copied()
                    .filter(|&t| self.node(inst.tok(t).node).id == id)
                    .collect();
                match found.first() {
                    Some(&t) => t,
                    None if waiting.is_empty() => {
                        return Err(CommandError::NotWaiting(format!(
                            "task '{id}' is not waiting: no task is waiting"
                        )))
                    }
                    None => {
                        return Err(CommandError::NotWaiting(format!(
                            "task '{id}' is not waiting (waiting: {})",
                            names(&waiting)
                        )))
                    }
                }
            }
            None => match waiting.as_slice() {
                [one] => *one,
                [] => return Err(CommandError::NotWaiting("no task is waiting".into())),
                many => {
                    return Err(CommandError::NotWaiting(format!(
                        "{} tasks are waiting ({}); say which one with taskId",
                        many.len(),
                        names(many)
                    )))
                }
            },
        };
        let node = self.node(inst.tok(t).node);
        if let TokenState::ReceiveTask { expired: true, .. } = inst.tok(t).state {
            return Err(CommandError::NotWaiting(format!(
                "the callback of task '{}' has expired (TimeoutMinutes); it no longer accepts submissions",
                node.id
            )));
        }
        if ctx.enforce_access {
            self.check_access(node, ctx.user)?;
        }
        let now = ctx.clock.now();
        // The ServerScript runs before anything changes: a throw leaves the task waiting.
        let outcome = self.server_script(inst, t, &data, ctx, now)?;
        let mut run = Run::new(inst, ctx);
        run.now = now;
        let is_user = matches!(run.inst.tok(t).state, TokenState::UserTask);
        self.accept_submission(&mut run, t, data, outcome, is_user);
        self.run(&mut run);
        Ok(run.finish())
    }

    fn callback(
        &self,
        inst: &mut Instance,
        key: &str,
        data: Value,
        ctx: &Ctx,
    ) -> Result<Vec<Effect>, CommandError> {
        let found = inst
            .live_tokens()
            .find(|(_, t)| {
                matches!(&t.state, TokenState::ReceiveTask { key: Some(k), form: false, expired: false } if k == key)
            })
            .map(|(i, _)| i);
        let Some(t) = found else {
            // Say why when the key is known but not open to a webhook callback.
            for (_, tok) in inst.live_tokens() {
                if let TokenState::ReceiveTask {
                    key: Some(k),
                    form,
                    expired,
                } = &tok.state
                {
                    if k == key && *expired {
                        return Err(CommandError::NoMatch(format!(
                            "the callback for correlation key '{key}' on task '{}' has expired (TimeoutMinutes)",
                            self.node(tok.node).id
                        )));
                    }
                    if k == key && *form {
                        return Err(CommandError::NoMatch(format!(
                            "no task waits for a webhook callback with correlation key '{key}': task '{}' waits on that key for a form submission (SignalProcessInstanceCommand)",
                            self.node(tok.node).id
                        )));
                    }
                }
            }
            // A message catch event waiting on this key also accepts a callback.
            if let Some(i) = inst
                .subs
                .iter()
                .position(|s| matches!(&s.kind, SubKind::Message { key: Some(k), .. } if k == key))
            {
                let mut run = Run::new(inst, ctx);
                let scope = run.inst.subs[i].scope;
                if let Value::Object(m) = &data {
                    self.set_vars(&mut run, scope, m.clone());
                }
                self.trigger_sub(&mut run, i);
                self.run(&mut run);
                return Ok(run.finish());
            }
            return Err(CommandError::NoMatch(format!(
                "no task waits for a callback with correlation key '{key}'"
            )));
        };
        let now = ctx.clock.now();
        let outcome = self.server_script(inst, t, &data, ctx, now)?;
        let mut run = Run::new(inst, ctx);
        run.now = now;
        self.accept_submission(&mut run, t, data, outcome, false);
        self.run(&mut run);
        Ok(run.finish())
    }

    fn check_access(&self, node: &FlowNode, user: Option<&User>) -> Result<(), CommandError> {
        let ru = node
            .spec
            .responsible_user
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        let rt = node
            .spec
            .responsible_team
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        if ru.is_none() && rt.is_none() {
            return Ok(());
        }
        let Some(user) = user else {
            let who = match (ru, rt) {
                (Some(u), _) => format!("user '{u}'"),
                (None, Some(t)) => format!("team {t}"),
                _ => unreachable!("checked above"),
            };
            return Err(CommandError::Forbidden(format!(
                "task '{}' is assigned to {who}; a signed-in user is required",
                node.id
            )));
        };
        if let Some(u) = ru {
            if split_list(u).any(|x| x == user.name) {
                return Ok(());
            }
        }
        if let Some(t) = rt {
            if split_list(t).any(|team| user.teams.iter().any(|ut| ut == team)) {
                return Ok(());
            }
        }
        let mut rule = Vec::new();
        if let Some(u) = ru {
            rule.push(format!("user '{u}'"));
        }
        if let Some(t) = rt {
            rule.push(format!("members of team {t}"));
        }
        Err(CommandError::Forbidden(format!(
            "user '{}' is not allowed to complete task '{}': it is assigned to {}",
            user.name,
            node.id,
            rule.join(" or ")
        )))
    }

    fn server_script(
        &self,
        inst: &Instance,
        t: TokenId,
        data: &Value,
        ctx: &Ctx,
        now: Timestamp,
    ) -> Result<Option<ScriptOutcome>, CommandError> {
        let tok = inst.tok(t);
        let node = self.node(tok.node);
        let Some(src) = &node.server_script else {
            return Ok(None);
        };
        let user = ctx.user.map(|u| u.name.as_str());
        match self.run_script(inst, tok.scope, src.id, now, Some(data), user) {
            Ok(o) => Ok(Some(o)),
            Err(e) => Err(CommandError::Rejected {
                task_id: node.id.clone(),
                message: e.message,
            }),
        }
    }

    /// Applies an accepted submission: variables, result variable, callback row, then moves on.
    fn accept_submission(
        &self,
        run: &mut Run,
        t: TokenId,
        data: Value,
        outcome: Option<ScriptOutcome>,
        is_user: bool,
    ) {
        let scope = run.inst.tok(t).scope;
        let mut result = data.clone();
        if let Some(o) = outcome {
            for (k, v) in o.writes {
                self.set_var(run, scope, k, v);
            }
            if !o.value.is_null() {
                result = o.value;
            }
        }
        if let Value::Object(m) = data {
            self.set_vars(run, scope, m);
        }
        if is_user {
            self.set_var(run, scope, "lastUserTaskResult".into(), result);
            self.leave_activity(run, t);
        } else {
            self.finish_receive(run, t, result);
        }
    }

    fn finish_receive(&self, run: &mut Run, t: TokenId, result: Value) {
        let tok = run.inst.tok(t);
        let scope = tok.scope;
        let node = self.node(tok.node);
        let key = match &tok.state {
            TokenState::ReceiveTask { key, .. } => key.clone(),
            _ => None,
        };
        run.effects.push(Effect::CallbackCompleted {
            task_id: node.id.clone(),
            correlation_key: key,
            result: result.clone(),
        });
        self.set_var(run, scope, "lastReceiveTaskResult".into(), result);
        self.leave_activity(run, t);
    }

    // ----- the run loop ----------------------------------------------------------------------

    fn run(&self, run: &mut Run) {
        let mut rounds = 0u32;
        let mut steps = 0u32;
        loop {
            while let Some(t) = run.stack.pop() {
                if run.inst.tokens.get(t as usize).is_some_and(|x| x.is_some()) {
                    steps += 1;
                    if steps > MAX_STEPS {
                        // A cycle with no wait state would never return: stop every runnable
                        // token with an incident instead, so the instance can be fixed and retried.
                        let msg = format!("stopped after {MAX_STEPS} steps without reaching a wait state (an endless loop in the diagram?)");
                        self.incident(run, t, msg.clone());
                        while let Some(o) = run.stack.pop() {
                            if run.inst.tokens.get(o as usize).is_some_and(|x| {
                                x.as_ref().is_some_and(|x| x.state == TokenState::Ready)
                            }) {
                                self.incident(run, o, msg.clone());
                            }
                        }
                        break;
                    }
                    self.execute(run, t);
                }
                while let Some((name, vars)) = run.pending_signals.pop() {
                    self.deliver_signal_internally(run, &name, vars);
                }
            }
            if !self.inclusive_reach.is_empty() && self.fire_inclusive_joins(run) {
                continue;
            }
            if self.has_conditionals && rounds < 100 && self.fire_conditionals(run) {
                rounds += 1;
                continue;
            }
            break;
        }
        self.update_status(run);
    }

    fn update_status(&self, run: &mut Run) {
        let inst = &mut *run.inst;
        if inst.status.is_ended() {
            return;
        }
        if !inst.incidents.is_empty() {
            inst.status = Status::Failed;
        } else if inst
            .scopes
            .first()
            .and_then(|s| s.as_ref())
            .is_some_and(|s| s.live == 0)
        {
            // Only reachable when the root never had a token (no start event ran).
            inst.status = Status::Completed;
        } else if !inst.incidents.is_empty() {
            inst.status = Status::Failed;
        } else {
            inst.status = Status::Waiting;
        }
    }

    fn execute(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        if tok.state != TokenState::Ready {
            return;
        }
        let (node_id, tok_scope, tok_loops) = (tok.node, tok.scope, tok.loops);
        let node = self.node(node_id);
        // A multi-instance activity first becomes a body that spawns its inner instances.
        if let Some(Looping::Multi(_)) = &node.looping {
            let scope = run.inst.scope(tok_scope);
            let inner = matches!(scope.kind, ScopeKind::MiInner { node } if node == node_id);
            if !inner {
                self.enter_mi_body(run, t);
                return;
            }
        }
        if let Some(Looping::Standard {
            condition: Some(c),
            test_before: true,
            ..
        }) = &node.looping
        {
            if tok_loops == 0 {
                match self.eval_condition(run.inst, tok_scope, c.id, run.now) {
                    Ok(true) => {}
                    Ok(false) => {
                        self.enter(run, node_id);
                        self.take_outgoing(run, t);
                        return;
                    }
                    Err(e) => {
                        return self.incident(
                            run,
                            t,
                            format!("loop condition failed: {}", e.message),
                        )
                    }
                }
            }
        }
        self.enter(run, node_id);
        match &node.kind {
            NodeKind::StartEvent { .. } | NodeKind::Boundary { .. } => self.take_outgoing(run, t),
            NodeKind::EndEvent { trigger } => self.end_event(run, t, trigger),
            NodeKind::IntermediateThrow { trigger } => self.throw_event(run, t, trigger),
            NodeKind::IntermediateCatch { trigger } => self.catch_event(run, t, trigger),
            NodeKind::Task(kind) => self.task(run, t, kind),
            NodeKind::SubProcess(_) => {
                let scope = run.inst.tok(t).scope;
                let process = run.inst.scope(scope).process;
                let child = run.inst.new_scope(
                    Some(scope),
                    Some(t),
                    process,
                    Some(node_id),
                    ScopeKind::Sub,
                    Map::new(),
                );
                run.inst.tok_mut(t).state = TokenState::InScope(child);
                self.arm_boundaries(run, t);
                self.open_scope_subs(run, child);
                match self.pick_start(process, Some(node_id)) {
                    Some(s) => {
                        let nt = run.new_token(child, s);
                        run.stack.push(nt);
                    }
                    None => self.close_scope_if_empty(run, child),
                }
            }
            NodeKind::CallActivity { called_element } => {
                let Some((pidx, _)) = self.deployment.process_by_id(called_element) else {
                    return self.incident(
                        run,
                        t,
                        format!(
                            "calls process '{called_element}', which is not in the files given"
                        ),
                    );
                };
                let scope = run.inst.tok(t).scope;
                // The child gets a copy of every variable the caller can see.
                let vars = run.inst.visible_vars(scope);
                let child = run.inst.new_scope(
                    Some(scope),
                    Some(t),
                    pidx as u32,
                    None,
                    ScopeKind::Call,
                    vars,
                );
                run.inst.tok_mut(t).state = TokenState::InScope(child);
                self.arm_boundaries(run, t);
                self.open_scope_subs(run, child);
                match self.pick_start(pidx as u32, None) {
                    Some(s) => {
                        let nt = run.new_token(child, s);
                        run.stack.push(nt);
                    }
                    None => self.close_scope_if_empty(run, child),
                }
            }
            NodeKind::Gateway(kind) => self.gateway(run, t, *kind),
        }
    }

    fn task(&self, run: &mut Run, t: TokenId, kind: &TaskKind) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let node = self.node(node_id);
        match kind {
            TaskKind::Task | TaskKind::Manual | TaskKind::Service | TaskKind::BusinessRule => {
                self.leave_activity(run, t)
            }
            TaskKind::Send => {
                let name = node.spec.message.as_ref().unwrap_or(&node.id).clone();
                let key = match &node.correlation_key {
                    Some(src) => match self.eval_value(run.inst, scope, src.id, run.now) {
                        Ok(v) => value_to_key(&v),
                        Err(e) => {
                            return self.incident(
                                run,
                                t,
                                format!("correlation key failed: {}", e.message),
                            )
                        }
                    },
                    None => None,
                };
                let variables = run.inst.visible_vars(scope);
                run.effects.push(Effect::MessageThrown {
                    element_id: node.id.clone(),
                    name,
                    correlation_key: key,
                    variables,
                });
                self.leave_activity(run, t)
            }
            TaskKind::Script { script, .. } => {
                if let Some(src) = script {
                    match self.run_script(run.inst, scope, src.id, run.now, None, None) {
                        Ok(out) => {
                            for (k, v) in out.writes {
                                self.set_var(run, scope, k, v);
                            }
                            if let Some(rv) = &node.spec.result_variable {
                                self.set_var(run, scope, rv.clone(), out.value);
                            }
                        }
                        Err(e) => return self.incident(run, t, script_failure(&e)),
                    }
                }
                self.leave_activity(run, t)
            }
            TaskKind::User => {
                run.inst.tok_mut(t).state = TokenState::UserTask;
                run.effects.push(Effect::TaskWaiting {
                    task_id: node.id.clone(),
                    task_type: "userTask",
                    form_key: node.spec.form_key.clone(),
                });
                self.arm_boundaries(run, t);
            }
            TaskKind::Receive => {
                let key = match &node.correlation_key {
                    Some(src) => match self.eval_value(run.inst, scope, src.id, run.now) {
                        Ok(v) => value_to_key(&v),
                        Err(e) => {
                            return self.incident(
                                run,
                                t,
                                format!("correlation key failed: {}", e.message),
                            )
                        }
                    },
                    None => None,
                };
                let form = node.spec.form_key.clone();
                // A due time past the largest timestamp saturates there (it never comes), as
                // timers do; validation keeps TimeoutMinutes far below that.
                let due = node
                    .spec
                    .timeout
                    .map(|d| run.now.checked_add(d).unwrap_or(Timestamp::MAX));
                run.inst.tok_mut(t).state = TokenState::ReceiveTask {
                    key: key.clone(),
                    form: form.is_some(),
                    expired: false,
                };
                run.effects.push(Effect::CallbackRegistered {
                    task_id: node.id.clone(),
                    correlation_key: key,
                    message: node.spec.message.clone(),
                    form: form.clone(),
                    timeout_minutes: node.spec.timeout_minutes,
                    webhook_url: node.spec.webhook_url.clone(),
                });
                if form.is_some() {
                    run.effects.push(Effect::TaskWaiting {
                        task_id: node.id.clone(),
                        task_type: "receiveTask",
                        form_key: form,
                    });
                }
                if let Some(due) = due {
                    run.inst
                        .add_sub(Some(t), scope, node_id, SubKind::CallbackTimeout { due });
                    run.effects.push(Effect::TimerScheduled {
                        element_id: node.id.clone(),
                        due,
                    });
                }
                self.arm_boundaries(run, t);
            }
        }
    }

    /// An activity finished its work: standard loop, multi-instance inner completion, or outgoing flows.
    fn leave_activity(&self, run: &mut Run, t: TokenId) {
        self.leave_activity_with(run, t, Vec::new(), Map::new());
    }

    /// `leave_activity` for a sub-process: `inner` is what completed compensable inside it and
    /// `local` its own variables, kept if the sub-process can be compensated later.
    fn leave_activity_with(
        &self,
        run: &mut Run,
        t: TokenId,
        inner: Vec<Done>,
        local: Map<String, Value>,
    ) {
        self.disarm(run, t);
        self.remember_completion(run, t, inner, local);
        let tok = run.inst.tok(t);
        let (tok_scope, tok_loops) = (tok.scope, tok.loops);
        let node = self.node(tok.node);
        if let Some(Looping::Standard {
            condition, maximum, ..
        }) = &node.looping
        {
            let loops = tok_loops + 1;
            run.inst.tok_mut(t).loops = loops;
            let again = match condition {
                Some(c) if maximum.is_none_or(|m| (loops as u64) < m) => {
                    match self.eval_condition(run.inst, tok_scope, c.id, run.now) {
                        Ok(b) => b,
                        Err(e) => {
                            return self.incident(
                                run,
                                t,
                                format!("loop condition failed: {}", e.message),
                            )
                        }
                    }
                }
                _ => false,
            };
            if again {
                run.inst.tok_mut(t).state = TokenState::Ready;
                run.stack.push(t);
                return;
            }
            run.inst.tok_mut(t).loops = 0;
        }
        self.take_outgoing(run, t);
    }

    /// Records that a token reached `node` (the path, and a history effect).
    fn enter(&self, run: &mut Run, node: NodeId) {
        run.inst.path.push(node);
        run.effects.push(Effect::ElementEntered {
            element_id: self.node(node).id.clone(),
        });
    }

    /// Moves a token along the node's outgoing flows (conditions on activity flows honoured).
    fn take_outgoing(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        run.effects.push(Effect::ElementCompleted {
            element_id: self.node(node_id).id.clone(),
        });
        // The inner instance of a multi-instance activity ends here; the body decides what's next.
        if let ScopeKind::MiInner { node } = run.inst.scope(scope).kind {
            if node == node_id {
                self.consume(run, t);
                return;
            }
        }
        let node = self.node(node_id);
        match node.outgoing.len() {
            0 => self.consume(run, t),
            1 if self.deployment.flow(node.outgoing[0]).condition.is_none() => {
                self.move_token(run, t, node.outgoing[0])
            }
            _ => match self.select_flows(run.inst, scope, node, false, run.now) {
                Ok(chosen) if chosen.is_empty() => self.incident(
                    run,
                    t,
                    format!("no outgoing flow of '{}' has a true condition", node.id),
                ),
                Ok(chosen) => self.fork(run, t, &chosen),
                Err(msg) => self.incident(run, t, msg),
            },
        }
    }

    /// The outgoing flows a token takes: those without a condition or with a true one, in
    /// document order (only the first when `first_only`, as an exclusive gateway does), else the
    /// default flow. Empty when nothing can be taken; `Err` when a condition fails to evaluate.
    fn select_flows(
        &self,
        inst: &Instance,
        scope: ScopeId,
        node: &FlowNode,
        first_only: bool,
        now: Timestamp,
    ) -> Result<Vec<FlowId>, String> {
        let mut chosen = Vec::with_capacity(node.outgoing.len());
        for &f in &node.outgoing {
            if Some(f) == node.default_flow {
                continue;
            }
            let take = match &self.deployment.flow(f).condition {
                None => true,
                Some(c) => self.eval_condition(inst, scope, c.id, now).map_err(|e| {
                    format!(
                        "condition of flow '{}' failed: {}",
                        self.deployment.flow(f).id,
                        e.message
                    )
                })?,
            };
            if take {
                chosen.push(f);
                if first_only {
                    break;
                }
            }
        }
        if chosen.is_empty() {
            chosen.extend(node.default_flow);
        }
        Ok(chosen)
    }

    fn fork(&self, run: &mut Run, t: TokenId, flows: &[FlowId]) {
        let scope = run.inst.tok(t).scope;
        // Push in reverse so the first flow runs first (depth-first, like Camunda).
        for (i, &f) in flows.iter().enumerate().rev() {
            if i == 0 {
                self.move_token(run, t, f);
            } else {
                let nt = run.new_token(scope, self.deployment.flow(f).target);
                run.inst.tok_mut(nt).via = Some(f);
                run.stack.push(nt);
            }
        }
    }

    fn move_token(&self, run: &mut Run, t: TokenId, f: FlowId) {
        let target = self.deployment.flow(f).target;
        let tok = run.inst.tok_mut(t);
        tok.node = target;
        tok.state = TokenState::Ready;
        tok.loops = 0;
        tok.via = Some(f);
        run.stack.push(t);
    }

    fn gateway(&self, run: &mut Run, t: TokenId, kind: GatewayKind) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let node = self.node(node_id);
        let via = tok.via;
        match kind {
            GatewayKind::Exclusive | GatewayKind::Complex => {
                if kind == GatewayKind::Complex && node.incoming.len() > 1 {
                    // Treated as an inclusive join (documented in COVERAGE.md).
                    return self.inclusive_gateway(run, t, via);
                }
                match self.select_flows(run.inst, scope, node, true, run.now) {
                    Ok(chosen) => match chosen.first() {
                        Some(&f) => self.move_token(run, t, f),
                        None if node.outgoing.is_empty() => self.consume(run, t),
                        None => self.incident(run, t, no_flow(&node.id)),
                    },
                    Err(msg) => self.incident(run, t, msg),
                }
            }
            GatewayKind::Parallel => {
                if node.incoming.len() > 1 {
                    run.inst.tok_mut(t).state = TokenState::Joined(via.unwrap_or(u32::MAX));
                    let arrived: Vec<TokenId> = run
                        .inst
                        .live_tokens()
                        .filter(|(_, x)| {
                            x.scope == scope
                                && x.node == node_id
                                && matches!(x.state, TokenState::Joined(_))
                        })
                        .map(|(i, _)| i)
                        .collect();
                    // Camunda counts arrivals: the join fires once as many tokens as incoming flows arrived.
                    if arrived.len() < node.incoming.len() {
                        return;
                    }
                    let mut others = node.incoming.len() - 1;
                    for &a in &arrived {
                        if a != t && others > 0 {
                            self.consume_silently(run, a);
                            others -= 1;
                        }
                    }
                    run.inst.tok_mut(t).state = TokenState::Ready;
                }
                let outs = node.outgoing.clone();
                if outs.is_empty() {
                    self.consume(run, t)
                } else {
                    self.fork(run, t, &outs)
                }
            }
            GatewayKind::Inclusive => self.inclusive_gateway(run, t, via),
            GatewayKind::EventBased => {
                run.inst.tok_mut(t).state = TokenState::Catching;
                for &f in &node.outgoing {
                    let target = self.deployment.flow(f).target;
                    let tnode = self.node(target);
                    let trig = match &tnode.kind {
                        NodeKind::IntermediateCatch { trigger } => Some(trigger.clone()),
                        NodeKind::Task(TaskKind::Receive) => Some(Trigger::Message(Some(
                            tnode.spec.message.as_ref().unwrap_or(&tnode.id).clone(),
                        ))),
                        _ => None,
                    };
                    if let Some(trig) = trig {
                        if let Err(msg) = self.subscribe(run, Some(t), scope, target, &trig) {
                            return self.incident(run, t, msg);
                        }
                    }
                }
            }
        }
    }

    fn inclusive_gateway(&self, run: &mut Run, t: TokenId, via: Option<FlowId>) {
        let node_id = run.inst.tok(t).node;
        let node = self.node(node_id);
        if node.incoming.len() > 1 {
            run.inst.tok_mut(t).state = TokenState::Joined(via.unwrap_or(u32::MAX));
            // Whether it can fire is decided once nothing else can move (see `fire_inclusive_joins`).
            return;
        }
        self.inclusive_split(run, t);
    }

    fn inclusive_split(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let node = self.node(node_id);
        match self.select_flows(run.inst, scope, node, false, run.now) {
            Ok(chosen) if chosen.is_empty() && node.outgoing.is_empty() => self.consume(run, t),
            Ok(chosen) if chosen.is_empty() => self.incident(run, t, no_flow(&node.id)),
            Ok(chosen) => self.fork(run, t, &chosen),
            Err(msg) => self.incident(run, t, msg),
        }
    }

    /// Fires an inclusive join whose every possible arrival has arrived. True if one fired.
    fn fire_inclusive_joins(&self, run: &mut Run) -> bool {
        let candidates: Vec<(TokenId, ScopeId, NodeId)> = run
            .inst
            .live_tokens()
            .filter(|(_, x)| {
                matches!(x.state, TokenState::Joined(_))
                    && self.inclusive_reach.contains_key(&x.node)
            })
            .map(|(i, x)| (i, x.scope, x.node))
            .collect();
        for &(t, scope, g) in &candidates {
            let reach = &self.inclusive_reach[&g];
            let blocked = run.inst.live_tokens().any(|(_, x)| {
                x.scope == scope
                    && !(x.node == g && matches!(x.state, TokenState::Joined(_)))
                    && reach.contains(&x.node)
            });
            if blocked {
                continue;
            }
            for &(o, s2, g2) in &candidates {
                if o != t && s2 == scope && g2 == g {
                    self.consume_silently(run, o);
                }
            }
            run.inst.tok_mut(t).state = TokenState::Ready;
            self.inclusive_split(run, t);
            return true;
        }
        false
    }

    // ----- events -----------------------------------------------------------------------------

    fn end_event(&self, run: &mut Run, t: TokenId, trigger: &Trigger) {
        if let Trigger::Compensate { activity, wait } = trigger {
            // Completed (and its token ended) once compensation is done, see `after_compensation`.
            return self.throw_compensation(run, t, activity.is_some(), *wait);
        }
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        run.effects.push(Effect::ElementCompleted {
            element_id: self.node(node_id).id.clone(),
        });
        match trigger {
            Trigger::Terminate => {
                // Terminate ends the scope it is in: every token and sub-scope there.
                let sid = scope;
                self.consume_silently(run, t);
                self.cancel_scope(run, sid);
                self.close_scope_if_empty(run, sid);
            }
            Trigger::Error(code) => {
                match self.find_catcher(run.inst, scope, |trig| match trig {
                    Trigger::Error(c) => c.is_none() || c == code,
                    _ => false,
                }) {
                    Some(c) => {
                        self.consume_silently(run, t);
                        self.catch_thrown(run, c, code.clone(), "errorCode");
                    }
                    // Uncaught: behaves as a none end event (Camunda 7).
                    None => self.consume(run, t),
                }
            }
            Trigger::Escalation(code) => self.throw_escalation(run, t, code, true),
            Trigger::Message(name) => {
                self.throw_message(run, scope, node_id, name.as_deref());
                self.consume(run, t);
            }
            Trigger::Signal(Some(name)) => {
                self.throw_signal(run, scope, node_id, name);
                self.consume(run, t);
            }
            _ => self.consume(run, t),
        }
    }

    fn throw_event(&self, run: &mut Run, t: TokenId, trigger: &Trigger) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        match trigger {
            Trigger::Signal(Some(name)) => {
                self.throw_signal(run, scope, node_id, name);
                self.take_outgoing(run, t)
            }
            Trigger::Message(name) => {
                self.throw_message(run, scope, node_id, name.as_deref());
                self.take_outgoing(run, t)
            }
            Trigger::Escalation(code) => self.throw_escalation(run, t, code, false),
            Trigger::Compensate { activity, wait } => {
                self.throw_compensation(run, t, activity.is_some(), *wait)
            }
            Trigger::Link(name) => {
                let process = run.inst.scope(scope).process;
                let parent = self.node(node_id).parent;
                match self.link_targets.get(&(process, parent, name.clone())) {
                    Some(&target) => {
                        let tok = run.inst.tok_mut(t);
                        tok.node = target;
                        tok.state = TokenState::Ready;
                        run.stack.push(t);
                    }
                    None => self.incident(
                        run,
                        t,
                        format!("no link catch event named '{name}' in the same scope"),
                    ),
                }
            }
            _ => self.take_outgoing(run, t),
        }
    }

    /// An escalation thrown by an end event (`ends`) or an intermediate throw event. An
    /// interrupting catcher takes the token; otherwise the thrower goes on after the catcher started.
    fn throw_escalation(&self, run: &mut Run, t: TokenId, code: &Option<String>, ends: bool) {
        let scope = run.inst.tok(t).scope;
        let caught = self.find_catcher(run.inst, scope, |trig| match trig {
            Trigger::Escalation(c) => c.is_none() || c == code,
            _ => false,
        });
        let interrupting = matches!(
            caught,
            Some(Catcher::Boundary {
                interrupting: true,
                ..
            }) | Some(Catcher::EventSub {
                interrupting: true,
                ..
            })
        );
        if let Some(c) = caught {
            if interrupting {
                self.consume_silently(run, t);
                return self.catch_thrown(run, c, code.clone(), "escalationCode");
            }
            self.catch_thrown(run, c, code.clone(), "escalationCode");
        }
        if ends {
            self.consume(run, t);
        } else if run.inst.tokens.get(t as usize).is_some_and(|x| x.is_some()) {
            self.take_outgoing(run, t);
        }
    }

    fn catch_event(&self, run: &mut Run, t: TokenId, trigger: &Trigger) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        match trigger {
            Trigger::Message(_) | Trigger::Signal(_) | Trigger::Timer(_) => {
                run.inst.tok_mut(t).state = TokenState::Catching;
                if let Err(msg) = self.subscribe(run, Some(t), scope, node_id, trigger) {
                    self.incident(run, t, msg)
                }
            }
            Trigger::Conditional(Some(c)) => {
                match self.eval_condition(run.inst, scope, c.id, run.now) {
                    Ok(true) => self.take_outgoing(run, t),
                    Ok(false) => {
                        run.inst.tok_mut(t).state = TokenState::Catching;
                        run.inst.add_sub(
                            Some(t),
                            scope,
                            node_id,
                            SubKind::Conditional { was_true: false },
                        );
                    }
                    Err(e) => self.incident(run, t, format!("condition failed: {}", e.message)),
                }
            }
            _ => self.take_outgoing(run, t),
        }
    }

    /// Creates the subscription for a catching trigger (evaluating its key or time now).
    fn subscribe(
        &self,
        run: &mut Run,
        token: Option<TokenId>,
        scope: ScopeId,
        node_id: NodeId,
        trigger: &Trigger,
    ) -> Result<(), String> {
        let node = self.node(node_id);
        let kind = match trigger {
            Trigger::Message(name) => {
                let name = name
                    .clone()
                    .or_else(|| node.spec.message.clone())
                    .unwrap_or_else(|| node.id.clone());
                let key = match &node.correlation_key {
                    Some(src) => match self.eval_value(run.inst, scope, src.id, run.now) {
                        Ok(v) => value_to_key(&v),
                        Err(e) => return Err(format!("correlation key failed: {}", e.message)),
                    },
                    None => None,
                };
                SubKind::Message { name, key }
            }
            Trigger::Signal(Some(name)) => SubKind::Signal { name: name.clone() },
            Trigger::Signal(None) => SubKind::Signal {
                name: node.id.clone(),
            },
            Trigger::Timer(def) => {
                let due = self.timer_due(run.inst, scope, def, run.now)?;
                run.effects.push(Effect::TimerScheduled {
                    element_id: node.id.clone(),
                    due,
                });
                SubKind::Timer { due, fired: 0 }
            }
            Trigger::Conditional(Some(_)) => SubKind::Conditional { was_true: false },
            _ => return Ok(()),
        };
        run.inst.add_sub(token, scope, node_id, kind);
        Ok(())
    }

    fn timer_schedule(
        &self,
        inst: &Instance,
        scope: ScopeId,
        def: &TimerDef,
        now: Timestamp,
    ) -> Result<timer::Schedule, String> {
        let (src, parse): (_, TimerParser) = match def {
            TimerDef::Date(s) => (s, timer::parse_date),
            TimerDef::Duration(s) => (s, timer::parse_duration),
            TimerDef::Cycle(s) => (s, timer::parse_cycle),
            TimerDef::Missing => {
                return Err("timer has no timeDate, timeDuration or timeCycle".into())
            }
        };
        if let Some(s) = self.timers.get(&src.id) {
            return Ok(s.clone());
        }
        // An expression: evaluate it, then parse what it yields.
        let v = self
            .eval_value(inst, scope, src.id, now)
            .map_err(|e| format!("timer expression failed: {}", e.message))?;
        let text = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        parse(&text).map_err(|e| e.0)
    }

    fn timer_due(
        &self,
        inst: &Instance,
        scope: ScopeId,
        def: &TimerDef,
        now: Timestamp,
    ) -> Result<Timestamp, String> {
        Ok(self.timer_schedule(inst, scope, def, now)?.first_due(now))
    }

    /// Arms the boundary events of an activity that now waits.
    fn arm_boundaries(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        // Inner multi-instance tokens do not own the boundaries: the body does.
        if let ScopeKind::MiInner { node } = run.inst.scope(scope).kind {
            if node == node_id {
                return;
            }
        }
        let boundaries = &self.node(node_id).boundaries;
        for &b in boundaries {
            if let NodeKind::Boundary { trigger, .. } = &self.node(b).kind {
                match trigger {
                    Trigger::Conditional(Some(_)) => {
                        // Evaluated by the conditional pass at the end of this step.
                        run.inst.add_sub(
                            Some(t),
                            scope,
                            b,
                            SubKind::Conditional { was_true: false },
                        );
                    }
                    Trigger::Message(_) | Trigger::Signal(_) | Trigger::Timer(_) => {
                        if let Err(msg) = self.subscribe(run, Some(t), scope, b, trigger) {
                            return self.incident(
                                run,
                                t,
                                format!("boundary event '{}': {msg}", self.node(b).id),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Removes every subscription owned by a token (boundaries, catch, gateway targets).
    fn disarm(&self, run: &mut Run, t: TokenId) {
        run.inst.subs.retain(|s| s.token != Some(t));
    }

    /// Registers the event sub-process start subscriptions of a newly started scope.
    fn open_scope_subs(&self, run: &mut Run, scope: ScopeId) {
        let s = run.inst.scope(scope);
        let Some(starts) = self.event_starts.get(&(s.process, s.container)) else {
            return;
        };
        for &st in starts {
            if let NodeKind::StartEvent { trigger, .. } = &self.node(st).kind {
                if let Err(msg) = self.subscribe(run, None, scope, st, trigger) {
                    run.inst.incidents.push(IncidentRec {
                        token: u32::MAX,
                        element_id: self.node(st).id.clone(),
                        message: msg,
                    });
                }
            }
        }
    }

    /// A subscription fired.
    fn trigger_sub(&self, run: &mut Run, i: usize) {
        let sub = run.inst.subs[i].clone();
        let node = self.node(sub.node);
        match &node.kind {
            NodeKind::Boundary {
                attached_to: _,
                cancel_activity,
                trigger,
            } => {
                let Some(owner) = sub.token else { return };
                let scope = run.inst.tok(owner).scope;
                let cyclic = self.rearm_cycle(run, i, &sub, trigger);
                if *cancel_activity {
                    self.cancel_token(run, owner);
                } else if !cyclic {
                    // Non-interrupting: messages and signals stay subscribed, a one-shot timer is spent.
                    match &mut run.inst.subs[i].kind {
                        SubKind::Conditional { was_true } => *was_true = true,
                        SubKind::Timer { .. } => run.inst.subs.retain(|s| s.id != sub.id),
                        _ => {}
                    }
                }
                let nt = run.new_token(scope, sub.node);
                run.stack.push(nt);
            }
            NodeKind::StartEvent {
                interrupting,
                trigger,
            } => {
                // An event sub-process start.
                let scope = sub.scope;
                let Some(esp) = node.parent else { return };
                if *interrupting {
                    self.cancel_scope(run, scope);
                } else if !self.rearm_cycle(run, i, &sub, trigger) {
                    match &mut run.inst.subs[i].kind {
                        SubKind::Conditional { was_true } => *was_true = true,
                        SubKind::Timer { .. } => run.inst.subs.retain(|s| s.id != sub.id),
                        _ => {}
                    }
                }
                self.start_event_subprocess(run, scope, esp, sub.node);
            }
            _ => {
                if let SubKind::CallbackTimeout { .. } = sub.kind {
                    // TimeoutMinutes: the callback row expires; a timer boundary drawn on the task fires.
                    run.inst.subs.retain(|s| s.id != sub.id);
                    let Some(t) = sub.token else { return };
                    let key = match &mut run.inst.tok_mut(t).state {
                        TokenState::ReceiveTask { key, expired, .. } => {
                            *expired = true;
                            key.clone()
                        }
                        _ => None,
                    };
                    run.effects.push(Effect::CallbackClosed {
                        task_id: node.id.clone(),
                        correlation_key: key,
                        status: "Expired",
                    });
                    if let Some(bi) =
                        run.inst.subs.iter().position(|s| {
                            s.token == Some(t) && matches!(s.kind, SubKind::Timer { .. })
                        })
                    {
                        self.trigger_sub(run, bi);
                    }
                    return;
                }
                // A catch event or an event-based gateway target.
                let Some(t) = sub.token else { return };
                let tok = run.inst.tok(t);
                let gateway_wait = tok.node != sub.node;
                self.disarm(run, t);
                if gateway_wait {
                    // Event-based gateway: the token moves to the event that happened and passes it.
                    let tok = run.inst.tok_mut(t);
                    tok.node = sub.node;
                    tok.state = TokenState::Ready;
                    self.enter(run, sub.node);
                    if let NodeKind::Task(TaskKind::Receive) = node.kind {
                        let data = Value::Null;
                        self.finish_receive(run, t, data);
                    } else {
                        self.take_outgoing(run, t);
                    }
                } else {
                    run.inst.tok_mut(t).state = TokenState::Ready;
                    self.take_outgoing(run, t);
                }
            }
        }
    }

    /// For a cycle timer that repeats: re-arm it. True when re-armed.
    fn rearm_cycle(&self, run: &mut Run, i: usize, sub: &Sub, trigger: &Trigger) -> bool {
        let (SubKind::Timer { due, fired }, Trigger::Timer(def @ TimerDef::Cycle(_))) =
            (&sub.kind, trigger)
        else {
            return false;
        };
        let Ok(sched) = self.timer_schedule(run.inst, sub.scope, def, run.now) else {
            return false;
        };
        // Misfire policy: repetitions that fell due while nobody was running (the app was
        // closed, the clock jumped) are not caught up one by one. The cycle fires once now
        // and keeps its phase: the next due time is the first one after now.
        let mut next = sched.next_after(*due, fired + 1);
        while let Some(n) = next.filter(|n| *n <= run.now) {
            next = sched.next_after(n, fired + 1);
        }
        match next {
            Some(next) => {
                run.inst.subs[i].kind = SubKind::Timer {
                    due: next,
                    fired: fired + 1,
                };
                run.effects.push(Effect::TimerScheduled {
                    element_id: self.node(sub.node).id.clone(),
                    due: next,
                });
                true
            }
            None => {
                run.inst.subs.retain(|s| s.id != sub.id);
                true
            }
        }
    }

    fn start_event_subprocess(&self, run: &mut Run, scope: ScopeId, esp: NodeId, start: NodeId) {
        // The event sub-process is parked as a token in the scope it belongs to, so that scope
        // does not complete while it runs.
        let holder = run.new_token(scope, esp);
        self.enter(run, esp);
        let process = run.inst.scope(scope).process;
        let child = run.inst.new_scope(
            Some(scope),
            Some(holder),
            process,
            Some(esp),
            ScopeKind::Sub,
            Map::new(),
        );
        run.inst.tok_mut(holder).state = TokenState::InScope(child);
        self.open_scope_subs(run, child);
        let st = run.new_token(child, start);
        run.stack.push(st);
    }

    fn throw_signal(&self, run: &mut Run, scope: ScopeId, node: NodeId, name: &str) {
        let variables = run.inst.visible_vars(scope);
        run.effects.push(Effect::SignalThrown {
            element_id: self.node(node).id.clone(),
            name: name.to_string(),
            variables,
        });
        run.pending_signals.push((name.to_string(), Map::new()));
    }

    fn deliver_signal_internally(&self, run: &mut Run, name: &str, _vars: Map<String, Value>) {
        let ids: Vec<u32> = run
            .inst
            .subs
            .iter()
            .filter(|s| matches!(&s.kind, SubKind::Signal { name: n } if n == name))
            .map(|s| s.id)
            .collect();
        for id in ids {
            if let Some(i) = run.inst.subs.iter().position(|s| s.id == id) {
                self.trigger_sub(run, i);
            }
        }
    }

    fn throw_message(&self, run: &mut Run, scope: ScopeId, node: NodeId, name: Option<&str>) {
        let n = self.node(node);
        let name = name
            .or(n.spec.message.as_deref())
            .unwrap_or(&n.id)
            .to_string();
        let key = n
            .correlation_key
            .as_ref()
            .and_then(|src| self.eval_value(run.inst, scope, src.id, run.now).ok())
            .and_then(|v| value_to_key(&v));
        let variables = run.inst.visible_vars(scope);
        run.effects.push(Effect::MessageThrown {
            element_id: n.id.clone(),
            name,
            correlation_key: key,
            variables,
        });
    }

    /// Finds the innermost catcher for an error or escalation thrown in `scope`.
    fn find_catcher(
        &self,
        inst: &Instance,
        mut scope: ScopeId,
        matches: impl Fn(&Trigger) -> bool,
    ) -> Option<Catcher> {
        let mut came_from: Option<NodeId> = None;
        loop {
            let s = inst.scope(scope);
            if matches!(s.kind, ScopeKind::Root | ScopeKind::Sub | ScopeKind::Call) {
                if let Some(starts) = self.event_starts.get(&(s.process, s.container)) {
                    for &st in starts {
                        if let NodeKind::StartEvent {
                            trigger,
                            interrupting,
                        } = &self.node(st).kind
                        {
                            // An event sub-process does not catch what is thrown inside itself.
                            let own = came_from.is_some() && came_from == self.node(st).parent;
                            if matches(trigger) && !own {
                                return Some(Catcher::EventSub {
                                    scope,
                                    start: st,
                                    interrupting: *interrupting,
                                });
                            }
                        }
                    }
                }
            }
            // A compensation scope's owner is a throw event or a holder at an activity that
            // already completed: its boundary events catch nothing any more.
            let owner = s
                .owner
                .filter(|_| !matches!(s.kind, ScopeKind::Compensation { .. }));
            if let Some(owner) = owner {
                let owner_tok = inst.tok(owner);
                let on = owner_tok.node;
                // The inner instance of a multi-instance activity does not own its boundaries;
                // they are found one level up, on the body's token.
                let inner = matches!(inst.scope(owner_tok.scope).kind, ScopeKind::MiInner { node } if node == on);
                let boundaries: &[NodeId] = if inner {
                    &[]
                } else {
                    &self.node(on).boundaries
                };
                for &b in boundaries {
                    if let NodeKind::Boundary {
                        trigger,
                        cancel_activity,
                        ..
                    } = &self.node(b).kind
                    {
                        if matches(trigger) {
                            return Some(Catcher::Boundary {
                                owner,
                                boundary: b,
                                interrupting: *cancel_activity,
                            });
                        }
                    }
                }
            }
            came_from = s.container;
            scope = s.parent?;
        }
    }

    fn catch_thrown(&self, run: &mut Run, c: Catcher, code: Option<String>, var: &str) {
        match c {
            Catcher::Boundary {
                owner,
                boundary,
                interrupting,
            } => {
                let scope = run.inst.tok(owner).scope;
                if interrupting {
                    self.cancel_token(run, owner);
                }
                let nt = run.new_token(scope, boundary);
                if let Some(code) = code {
                    self.set_var(run, scope, var.to_string(), Value::String(code));
                }
                run.stack.push(nt);
            }
            Catcher::EventSub {
                scope,
                start,
                interrupting,
            } => {
                let Some(esp) = self.node(start).parent else {
                    return;
                };
                if interrupting {
                    self.cancel_scope(run, scope);
                }
                if let Some(code) = code {
                    self.set_var(run, scope, var.to_string(), Value::String(code));
                }
                self.start_event_subprocess(run, scope, esp, start);
            }
        }
    }

    // ----- compensation ----------------------------------------------------------------------

    /// An activity completed: if compensation could undo it later, remember it in the scope it
    /// ran in (an inner instance of a multi-instance activity: in the body, which hands what it
    /// remembered to the surrounding scope only once the whole activity completed).
    fn remember_completion(
        &self,
        run: &mut Run,
        t: TokenId,
        inner: Vec<Done>,
        local: Map<String, Value>,
    ) {
        let tok = run.inst.tok(t);
        let (scope, node) = (tok.scope, tok.node);
        if inner.is_empty() && self.comp_handlers.is_empty() && self.comp_esps.is_empty() {
            return;
        }
        let own_handler = self.comp_handlers.contains_key(&node);
        if !own_handler && !self.comp_esps.contains_key(&node) && inner.is_empty() {
            return;
        }
        let s = run.inst.scope(scope);
        let (target, vars) = match s.kind {
            ScopeKind::MiInner { node: n } if n == node => {
                let mut vars = s.vars.clone();
                vars.extend(local);
                (s.parent.unwrap_or(scope), vars)
            }
            _ => (scope, local),
        };
        // An activity with its own handler is undone by that handler alone.
        let inner = if own_handler { Vec::new() } else { inner };
        if let Some(Some(s)) = run.inst.scopes.get_mut(target as usize) {
            s.done.push(Done { node, vars, inner });
        }
    }

    /// A compensation throw or end event: the completed activities of its scope (only those of
    /// `activityRef` when `by_ref`) are compensated, the last completed first, each at most once.
    /// Inside an event sub-process the scope around it counts too. With `wait` the thrower goes
    /// on once every handler finished; without, at once. Nothing to compensate: it just goes on.
    fn throw_compensation(&self, run: &mut Run, t: TokenId, by_ref: bool, wait: bool) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let only = self.comp_refs.get(&node_id).copied();
        // Scopes whose completed activities this throw reaches, outermost first (older first).
        let mut sources = vec![scope];
        let mut at = scope;
        loop {
            let s = run.inst.scope(at);
            let in_event_sub = matches!(s.kind, ScopeKind::Sub)
                && s.container.is_some_and(|c| {
                    matches!(&self.node(c).kind, NodeKind::SubProcess(sp) if sp.triggered_by_event)
                });
            match s.parent {
                Some(p) if in_event_sub && sources.len() < 64 => {
                    sources.insert(0, p);
                    at = p;
                }
                _ => break,
            }
        }
        let mut recs = Vec::new();
        for src in sources {
            let Some(Some(s)) = run.inst.scopes.get_mut(src as usize) else {
                continue;
            };
            if by_ref {
                let (hit, keep) = std::mem::take(&mut s.done)
                    .into_iter()
                    .partition(|r| Some(r.node) == only);
                s.done = keep;
                recs.extend::<Vec<Done>>(hit);
            } else {
                recs.append(&mut s.done);
            }
        }
        if recs.is_empty() {
            return self.after_compensation(run, t);
        }
        let (process, container) = {
            let s = run.inst.scope(scope);
            (s.process, s.container)
        };
        // Waiting: the thrower itself owns the handlers' scope. Not waiting: a holder token
        // keeps the thrower's scope open while they run, and the thrower goes on at once.
        let owner = if wait {
            t
        } else {
            run.new_token(scope, node_id)
        };
        let comp = run.inst.new_scope(
            Some(scope),
            Some(owner),
            process,
            container,
            ScopeKind::Compensation { resume: wait },
            Map::new(),
        );
        run.inst.tok_mut(owner).state = TokenState::InScope(comp);
        // Pushed in completion order, so the last completed runs first.
        for r in recs {
            self.spawn_compensation(run, comp, r, 0);
        }
        if run.inst.scope(comp).live == 0 {
            run.inst.drop_scope(comp);
            if wait {
                run.inst.tok_mut(t).state = TokenState::Ready;
            } else {
                self.consume_silently(run, owner);
            }
            return self.after_compensation(run, t);
        }
        if !wait {
            self.after_compensation(run, t);
        }
    }

    /// Starts undoing one completed activity inside the compensation scope `parent`: its
    /// handler, else its compensation event sub-process, else (a sub-process) the activities
    /// that completed inside it, last first.
    fn spawn_compensation(&self, run: &mut Run, parent: ScopeId, rec: Done, depth: u32) {
        let handler = self.comp_handlers.get(&rec.node).copied();
        let esp = match handler {
            Some(_) => None,
            None => self.comp_esps.get(&rec.node).copied(),
        };
        // A handler that needs none of the activity's variables runs right in `parent`; else a
        // holder at the activity opens a scope with them (for a sub-process without a handler
        // of its own: the sub-process re-created around its compensation).
        let own_scope = handler.is_none() || !rec.vars.is_empty();
        let target = if own_scope {
            let holder = run.new_token(parent, rec.node);
            let (process, around) = {
                let s = run.inst.scope(parent);
                (s.process, s.container)
            };
            let container = match handler {
                None => Some(rec.node),
                Some(_) => around,
            };
            let c = run.inst.new_scope(
                Some(parent),
                Some(holder),
                process,
                container,
                ScopeKind::Compensation { resume: false },
                rec.vars,
            );
            run.inst.tok_mut(holder).state = TokenState::InScope(c);
            c
        } else {
            parent
        };
        if let Some(h) = handler {
            let nt = run.new_token(target, h);
            run.stack.push(nt);
        } else if let Some((esp, start)) = esp {
            // Its throw events compensate what completed inside the sub-process.
            run.inst.scope_mut(target).done = rec.inner;
            self.start_event_subprocess(run, target, esp, start);
        } else if depth < 256 {
            for r in rec.inner {
                self.spawn_compensation(run, target, r, depth + 1);
            }
        }
        if own_scope && run.inst.scope(target).live == 0 {
            // Nothing to run after all: never leave an empty scope waiting.
            let holder = run.inst.scope(target).owner;
            run.inst.drop_scope(target);
            if let Some(h) = holder {
                self.consume_silently(run, h);
            }
        }
    }

    /// The thrower of a compensation goes on: an intermediate throw event along its flows, an
    /// end event completes and ends its token.
    fn after_compensation(&self, run: &mut Run, t: TokenId) {
        run.inst.tok_mut(t).state = TokenState::Ready;
        let node = run.inst.tok(t).node;
        if let NodeKind::EndEvent { .. } = self.node(node).kind {
            run.effects.push(Effect::ElementCompleted {
                element_id: self.node(node).id.clone(),
            });
            self.consume(run, t);
        } else {
            self.take_outgoing(run, t);
        }
    }

    // ----- conditionals --------------------------------------------------------------------

    fn fire_conditionals(&self, run: &mut Run) -> bool {
        let conds: Vec<(u32, ScopeId, NodeId, bool)> = run
            .inst
            .subs
            .iter()
            .filter_map(|s| match s.kind {
                SubKind::Conditional { was_true } => Some((s.id, s.scope, s.node, was_true)),
                _ => None,
            })
            .collect();
        for (id, scope, node, was_true) in conds {
            let Some(src) = (match &self.node(node).kind {
                NodeKind::StartEvent {
                    trigger: Trigger::Conditional(c),
                    ..
                }
                | NodeKind::IntermediateCatch {
                    trigger: Trigger::Conditional(c),
                }
                | NodeKind::Boundary {
                    trigger: Trigger::Conditional(c),
                    ..
                } => c.as_ref(),
                _ => None,
            }) else {
                continue;
            };
            if run
                .inst
                .scopes
                .get(scope as usize)
                .is_none_or(|s| s.is_none())
            {
                continue;
            }
            let now_true = self
                .eval_condition(run.inst, scope, src.id, run.now)
                .unwrap_or(false);
            let Some(i) = run.inst.subs.iter().position(|s| s.id == id) else {
                continue;
            };
            if now_true && !was_true {
                self.trigger_sub(run, i);
                return true;
            }
            if !now_true && was_true {
                run.inst.subs[i].kind = SubKind::Conditional { was_true: false };
            }
        }
        false
    }

    // ----- multi-instance ------------------------------------------------------------------

    fn enter_mi_body(&self, run: &mut Run, t: TokenId) {
        let tok = run.inst.tok(t);
        let (scope, node_id) = (tok.scope, tok.node);
        let Some(Looping::Multi(mi)) = &self.node(node_id).looping else {
            return;
        };
        let (total, items) = if let Some(coll) = &mi.collection {
            match self.eval_value(run.inst, scope, coll.id, run.now) {
                Ok(Value::Array(a)) => (a.len() as u32, Some(a)),
                Ok(Value::Null) => {
                    return self.incident(run, t, format!("collection '{}' is not set", coll.text))
                }
                Ok(other) => {
                    return self.incident(
                        run,
                        t,
                        format!(
                            "collection '{}' is not a list (got {})",
                            coll.text,
                            type_word(&other)
                        ),
                    )
                }
                Err(e) => {
                    return self.incident(run, t, format!("collection failed: {}", e.message))
                }
            }
        } else if let Some(card) = &mi.cardinality {
            match self.eval_value(run.inst, scope, card.id, run.now) {
                Ok(v) => match v
                    .as_i64()
                    .or_else(|| v.as_f64().map(|f| f as i64))
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                {
                    Some(n) if n >= 0 => (n.min(100_000) as u32, None),
                    _ => {
                        return self.incident(
                            run,
                            t,
                            format!("loopCardinality must be a whole number of 0 or more, got {v}"),
                        )
                    }
                },
                Err(e) => {
                    return self.incident(run, t, format!("loopCardinality failed: {}", e.message))
                }
            }
        } else {
            return self.incident(
                run,
                t,
                "multi-instance has neither loopCardinality nor a collection".into(),
            );
        };
        self.enter(run, node_id);
        if total == 0 {
            return self.take_outgoing(run, t);
        }
        let mut vars = Map::new();
        vars.insert("nrOfInstances".into(), total.into());
        vars.insert("nrOfCompletedInstances".into(), 0.into());
        vars.insert("nrOfActiveInstances".into(), 0.into());
        let process = run.inst.scope(scope).process;
        let container = run.inst.scope(scope).container;
        let body = run.inst.new_scope(
            Some(scope),
            Some(t),
            process,
            container,
            ScopeKind::MiBody {
                node: node_id,
                total,
                completed: 0,
                active: 0,
                next: 0,
                items,
            },
            vars,
        );
        run.inst.tok_mut(t).state = TokenState::InScope(body);
        self.arm_boundaries(run, t);
        let launch = if mi.sequential { 1 } else { total };
        let mut started = Vec::new();
        for _ in 0..launch {
            started.push(self.spawn_mi_inner(run, body));
        }
        for nt in started.into_iter().rev() {
            run.stack.push(nt);
        }
    }

    fn spawn_mi_inner(&self, run: &mut Run, body: ScopeId) -> TokenId {
        let (process, container) = {
            let s = run.inst.scope(body);
            (s.process, s.container)
        };
        let ScopeKind::MiBody {
            node,
            next,
            active,
            ref items,
            ..
        } = run.inst.scope(body).kind
        else {
            unreachable!("spawn_mi_inner is only called with a multi-instance body")
        };
        let item = items
            .as_ref()
            .map(|a| a.get(next as usize).cloned().unwrap_or(Value::Null));
        let mut vars = Map::new();
        vars.insert("loopCounter".into(), next.into());
        if let Some(Looping::Multi(mi)) = &self.node(node).looping {
            if let (Some(ev), Some(item)) = (&mi.element_variable, item) {
                vars.insert(ev.clone(), item);
            }
        }
        if let ScopeKind::MiBody { next, active, .. } = &mut run.inst.scope_mut(body).kind {
            *next += 1;
            *active += 1;
        }
        run.inst
            .scope_mut(body)
            .vars
            .insert("nrOfActiveInstances".into(), (active + 1).into());
        let inner = run.inst.new_scope(
            Some(body),
            None,
            process,
            container,
            ScopeKind::MiInner { node },
            vars,
        );
        run.new_token(inner, node)
    }

    /// An inner instance finished: count it, check the completion condition, go on.
    fn mi_inner_done(&self, run: &mut Run, inner: ScopeId, body: ScopeId) {
        let ScopeKind::MiBody {
            node,
            total,
            completed,
            active,
            next,
            ..
        } = run.inst.scope(body).kind
        else {
            return;
        };
        let (completed, active) = (completed + 1, active.saturating_sub(1));
        if let ScopeKind::MiBody {
            completed: c,
            active: a,
            ..
        } = &mut run.inst.scope_mut(body).kind
        {
            *c = completed;
            *a = active;
        }
        {
            let v = &mut run.inst.scope_mut(body).vars;
            v.insert("nrOfCompletedInstances".into(), completed.into());
            v.insert("nrOfActiveInstances".into(), active.into());
        }
        let Some(Looping::Multi(mi)) = &self.node(node).looping else {
            return;
        };
        let mut done = completed >= total;
        if !done {
            if let Some(cc) = &mi.completion_condition {
                match self.eval_condition(run.inst, inner, cc.id, run.now) {
                    Ok(b) => done = b,
                    Err(e) => {
                        run.inst.drop_scope(inner);
                        let owner = run.inst.scope(body).owner.unwrap_or(u32::MAX);
                        return self.incident(
                            run,
                            owner,
                            format!("completionCondition failed: {}", e.message),
                        );
                    }
                }
            }
        }
        run.inst.drop_scope(inner);
        let owner = run.inst.scope(body).owner;
        if done {
            // Cancel the inner instances still running, then the body token moves on. The inner
            // instances that completed become compensable in the scope around the activity.
            let completed = std::mem::take(&mut run.inst.scope_mut(body).done);
            let around = run.inst.scope(body).parent;
            self.cancel_scope(run, body);
            run.inst.drop_scope(body);
            if let Some(s) = around.and_then(|p| run.inst.scopes.get_mut(p as usize)) {
                if let Some(s) = s.as_mut() {
                    s.done.extend(completed);
                }
            }
            if let Some(o) = owner {
                run.inst.tok_mut(o).state = TokenState::Ready;
                self.disarm(run, o);
                self.take_outgoing(run, o);
            }
        } else if mi.sequential && next < total {
            let nt = self.spawn_mi_inner(run, body);
            run.stack.push(nt);
        }
    }

    // ----- token and scope bookkeeping -----------------------------------------------------

    /// A token reached its end: remove it and complete its scope if that was the last one.
    fn consume(&self, run: &mut Run, t: TokenId) {
        let scope = run.inst.tok(t).scope;
        self.disarm(run, t);
        run.inst.remove_token(t);
        self.close_scope_if_empty(run, scope);
    }

    /// Removes a token without completing its scope (joins, terminate, interrupt).
    fn consume_silently(&self, run: &mut Run, t: TokenId) {
        self.disarm(run, t);
        run.inst.remove_token(t);
    }

    fn close_scope_if_empty(&self, run: &mut Run, scope: ScopeId) {
        let Some(s) = run.inst.scopes.get(scope as usize).and_then(|s| s.as_ref()) else {
            return;
        };
        if s.live > 0 {
            return;
        }
        let parent = s.parent;
        let owner = s.owner;
        match s.kind {
            ScopeKind::Root => {
                // The root scope stays (its variables are the result); the instance is done.
                run.inst.subs.clear();
                run.inst.scope_mut(scope).done.clear();
                run.inst.status = Status::Completed;
                run.effects.push(Effect::Ended {
                    status: Status::Completed,
                });
            }
            ScopeKind::MiInner { .. } => {
                if let Some(body) = parent {
                    self.mi_inner_done(run, scope, body);
                }
            }
            ScopeKind::MiBody { .. } => {}
            ScopeKind::Sub | ScopeKind::Call => {
                let is_call = matches!(s.kind, ScopeKind::Call);
                // The scope is dropped below: its variables and compensable activities move out.
                let s = run.inst.scope_mut(scope);
                let vars = std::mem::take(&mut s.vars);
                let inner = std::mem::take(&mut s.done);
                run.inst.subs.retain(|x| x.scope != scope);
                run.inst.drop_scope(scope);
                let Some(o) = owner else { return };
                let Some(p) = parent else { return };
                if is_call {
                    // The called process hands its variables back to the caller. What completed
                    // in it is not compensated from the caller (as in Camunda 7).
                    self.set_vars(run, p, vars);
                    run.inst.tok_mut(o).state = TokenState::Ready;
                    return self.leave_activity(run, o);
                }
                let holder_node = run.inst.tok(o).node;
                let is_event_sub = matches!(&self.node(holder_node).kind, NodeKind::SubProcess(sp) if sp.triggered_by_event);
                run.inst.tok_mut(o).state = TokenState::Ready;
                if is_event_sub {
                    self.consume(run, o);
                } else {
                    self.leave_activity_with(run, o, inner, vars);
                }
            }
            ScopeKind::Compensation { resume } => {
                run.inst.subs.retain(|x| x.scope != scope);
                run.inst.drop_scope(scope);
                let Some(o) = owner else { return };
                if run.inst.tokens.get(o as usize).is_none_or(|x| x.is_none()) {
                    return;
                }
                if resume {
                    self.after_compensation(run, o);
                } else {
                    self.consume(run, o);
                }
            }
        }
    }

    /// Cancels everything inside a scope: its tokens, their child scopes, its subscriptions.
    fn cancel_scope(&self, run: &mut Run, scope: ScopeId) {
        let toks: Vec<TokenId> = run
            .inst
            .live_tokens()
            .filter(|(_, x)| x.scope == scope)
            .map(|(i, _)| i)
            .collect();
        for t in toks {
            self.cancel_token(run, t);
        }
        run.inst.subs.retain(|x| x.scope != scope);
        // Child scopes without an owner token (multi-instance inner instances).
        let orphans: Vec<ScopeId> = run
            .inst
            .scopes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref()
                    .filter(|s| s.parent == Some(scope) && s.owner.is_none())
                    .map(|_| i as ScopeId)
            })
            .collect();
        for c in orphans {
            self.cancel_scope(run, c);
            run.inst.drop_scope(c);
        }
    }

    fn cancel_token(&self, run: &mut Run, t: TokenId) {
        let Some(tok) = run.inst.tokens.get(t as usize).and_then(|x| x.clone()) else {
            return;
        };
        // A holder of compensation work is bookkeeping, not an element that was running.
        let mut holder = false;
        match &tok.state {
            TokenState::InScope(child) => {
                let child = *child;
                holder = matches!(
                    run.inst.scopes.get(child as usize),
                    Some(Some(Scope {
                        kind: ScopeKind::Compensation { resume: false },
                        ..
                    }))
                );
                self.cancel_scope(run, child);
                run.inst.drop_scope(child);
            }
            TokenState::ReceiveTask { key, .. } => {
                run.effects.push(Effect::CallbackClosed {
                    task_id: self.node(tok.node).id.clone(),
                    correlation_key: key.clone(),
                    status: "Cancelled",
                });
            }
            TokenState::Failed => run.inst.incidents.retain(|r| r.token != t),
            _ => {}
        }
        if !holder {
            run.effects.push(Effect::ElementCancelled {
                element_id: self.node(tok.node).id.clone(),
            });
        }
        self.disarm(run, t);
        run.inst.remove_token(t);
    }

    fn incident(&self, run: &mut Run, t: TokenId, message: String) {
        let element_id = match run.inst.tokens.get(t as usize).and_then(|x| x.as_ref()) {
            Some(tok) => self.node(tok.node).id.clone(),
            None => String::new(),
        };
        if let Some(tok) = run.inst.tokens.get_mut(t as usize).and_then(|x| x.as_mut()) {
            tok.state = TokenState::Failed;
        }
        run.effects.push(Effect::IncidentRaised {
            element_id: element_id.clone(),
            message: message.clone(),
        });
        run.inst.incidents.push(IncidentRec {
            token: t,
            element_id,
            message,
        });
    }

    // ----- variables -------------------------------------------------------------------------

    fn set_vars(&self, run: &mut Run, scope: ScopeId, vars: Map<String, Value>) {
        for (k, v) in vars {
            self.set_var(run, scope, k, v);
        }
    }

    /// Camunda's rule: write to the scope where the variable exists, else to the instance
    /// (or to the called process's root inside a call activity).
    fn set_var(&self, run: &mut Run, scope: ScopeId, name: String, value: Value) {
        run.inst.set_var(scope, name, value);
    }

    fn run_script(
        &self,
        inst: &Instance,
        scope: ScopeId,
        id: ScriptId,
        now: Timestamp,
        form_data: Option<&Value>,
        user: Option<&str>,
    ) -> Result<ScriptOutcome, ScriptError> {
        let lookup = |name: &str| inst.lookup(scope, name).cloned();
        let all = || inst.visible_vars(scope);
        let input = ScriptInput {
            lookup: &lookup,
            all: &all,
            form_data,
            current_user: user,
            now,
        };
        self.scripts.run(id, &input)
    }

    fn eval_condition(
        &self,
        inst: &Instance,
        scope: ScopeId,
        id: ScriptId,
        now: Timestamp,
    ) -> Result<bool, ScriptError> {
        let lookup = |name: &str| inst.lookup(scope, name).cloned();
        let all = || inst.visible_vars(scope);
        let input = ScriptInput {
            lookup: &lookup,
            all: &all,
            form_data: None,
            current_user: None,
            now,
        };
        self.scripts.condition(id, &input)
    }

    fn eval_value(
        &self,
        inst: &Instance,
        scope: ScopeId,
        id: ScriptId,
        now: Timestamp,
    ) -> Result<Value, ScriptError> {
        self.run_script(inst, scope, id, now, None, None)
            .map(|o| o.value)
    }

    fn find_message_sub(
        &self,
        inst: &Instance,
        name: &str,
        key: Option<&str>,
    ) -> Option<MessageTarget> {
        let key_ok = |k: &Option<String>| match (key, k) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        };
        if let Some(i) = inst.subs.iter().position(
            |s| matches!(&s.kind, SubKind::Message { name: n, key: k } if n == name && key_ok(k)),
        ) {
            return Some(MessageTarget::Sub(i));
        }
        inst.live_tokens()
            .find(|(_, t)| match &t.state {
                TokenState::ReceiveTask {
                    key: k,
                    expired: false,
                    ..
                } => {
                    let node = self.node(t.node);
                    node.spec.message.as_ref().unwrap_or(&node.id) == name && key_ok(k)
                }
                _ => false,
            })
            .map(|(i, _)| MessageTarget::Receive(i))
    }

    // ----- queries ---------------------------------------------------------------------------

    /// What the instance waits on now.
    pub fn waiting(&self, inst: &Instance) -> Vec<Waiting> {
        let mut out = Vec::new();
        for (i, t) in inst.live_tokens() {
            let node = self.node(t.node);
            let base = |task_type: &'static str| Waiting {
                task_id: node.id.clone(),
                element_id: node.id.clone(),
                task_type,
                name: node.name.clone(),
                correlation_key: None,
                form_key: None,
                message: None,
                signal: None,
                due: None,
                responsible_user: node.spec.responsible_user.clone(),
                responsible_team: node.spec.responsible_team.clone(),
            };
            match &t.state {
                TokenState::UserTask => {
                    let mut w = base("userTask");
                    w.form_key = node.spec.form_key.clone();
                    out.push(w);
                }
                TokenState::ReceiveTask { key, form, .. } => {
                    let mut w = base("receiveTask");
                    w.correlation_key = key.clone();
                    w.message = node.spec.message.clone();
                    if *form {
                        w.form_key = node.spec.form_key.clone();
                    }
                    out.push(w);
                }
                TokenState::Catching => {
                    for s in inst.subs.iter().filter(|s| s.token == Some(i)) {
                        let sn = self.node(s.node);
                        if matches!(sn.kind, NodeKind::Boundary { .. }) {
                            continue;
                        }
                        let mut w = base("");
                        w.task_id = sn.id.clone();
                        w.element_id = sn.id.clone();
                        w.name = sn.name.clone();
                        match &s.kind {
                            SubKind::Message { name, key } => {
                                w.task_type = "messageCatch";
                                w.message = Some(name.clone());
                                w.correlation_key = key.clone();
                            }
                            SubKind::Signal { name } => {
                                w.task_type = "signalCatch";
                                w.signal = Some(name.clone());
                            }
                            SubKind::Timer { due, .. } => {
                                w.task_type = "timer";
                                w.due = Some(*due);
                            }
                            SubKind::Conditional { .. } => w.task_type = "conditionalCatch",
                            SubKind::CallbackTimeout { .. } => continue,
                        }
                        out.push(w);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Every message and signal the instance listens for now (see [`Subscription`]).
    pub fn subscriptions(&self, inst: &Instance) -> Vec<Subscription> {
        let mut out = Vec::new();
        for s in &inst.subs {
            let element_id = self.node(s.node).id.clone();
            match &s.kind {
                SubKind::Message { name, key } => out.push(Subscription {
                    kind: "message",
                    name: name.clone(),
                    correlation_key: key.clone(),
                    element_id,
                }),
                SubKind::Signal { name } => out.push(Subscription {
                    kind: "signal",
                    name: name.clone(),
                    correlation_key: None,
                    element_id,
                }),
                _ => {}
            }
        }
        for (_, t) in inst.live_tokens() {
            if let TokenState::ReceiveTask {
                key,
                expired: false,
                ..
            } = &t.state
            {
                let node = self.node(t.node);
                let name = node.spec.message.as_ref().unwrap_or(&node.id).clone();
                out.push(Subscription {
                    kind: "message",
                    name,
                    correlation_key: key.clone(),
                    element_id: node.id.clone(),
                });
            }
        }
        out
    }

    /// The flow-node ids entered so far, in order.
    pub fn path(&self, inst: &Instance) -> Vec<String> {
        inst.path.iter().map(|&n| self.node(n).id.clone()).collect()
    }

    /// Whether a node was entered at least once.
    pub fn visited(&self, inst: &Instance, element_id: &str) -> bool {
        inst.path.iter().any(|&n| self.node(n).id == element_id)
    }

    /// The process-level variables.
    pub fn variables(&self, inst: &Instance) -> Map<String, Value> {
        match inst.scopes.first() {
            Some(Some(s)) => s.vars.clone(),
            _ => Map::new(),
        }
    }

    pub fn incidents(&self, inst: &Instance) -> Vec<Incident> {
        inst.incidents
            .iter()
            .map(|r| Incident {
                element_id: r.element_id.clone(),
                message: r.message.clone(),
            })
            .collect()
    }

    /// The earliest pending timer.
    pub fn next_timer(&self, inst: &Instance) -> Option<Timestamp> {
        inst.subs
            .iter()
            .filter_map(|s| match s.kind {
                SubKind::Timer { due, .. } | SubKind::CallbackTimeout { due } => Some(due),
                _ => None,
            })
            .min()
    }
}

enum MessageTarget {
    Sub(usize),
    Receive(TokenId),
}

impl<'a, 'c> Run<'a, 'c> {
    fn new(inst: &'a mut Instance, ctx: &'a Ctx<'c>) -> Self {
        let now = ctx.clock.now();
        inst.status = if inst.status == Status::Failed {
            Status::Failed
        } else {
            Status::Running
        };
        Run {
            inst,
            ctx,
            now,
            effects: Vec::new(),
            stack: Vec::new(),
            pending_signals: Vec::new(),
        }
    }
    fn new_token(&mut self, scope: ScopeId, node: NodeId) -> TokenId {
        self.inst.add_token(Token {
            scope,
            node,
            state: TokenState::Ready,
            loops: 0,
            via: None,
        })
    }
    fn finish(self) -> Vec<Effect> {
        let _ = self.ctx;
        self.effects
    }
}

impl Instance {
    fn tok(&self, t: TokenId) -> &Token {
        self.tokens[t as usize]
            .as_ref()
            .expect("token id refers to a live token")
    }
    fn tok_mut(&mut self, t: TokenId) -> &mut Token {
        self.tokens[t as usize]
            .as_mut()
            .expect("token id refers to a live token")
    }
    fn scope(&self, s: ScopeId) -> &Scope {
        self.scopes[s as usize]
            .as_ref()
            .expect("scope id refers to a live scope")
    }
    fn scope_mut(&mut self, s: ScopeId) -> &mut Scope {
        self.scopes[s as usize]
            .as_mut()
            .expect("scope id refers to a live scope")
    }
    fn live_tokens(&self) -> impl Iterator<Item = (TokenId, &Token)> {
        self.tokens
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i as TokenId, t)))
    }
    fn add_token(&mut self, tok: Token) -> TokenId {
        let scope = tok.scope;
        if let Some(s) = self.scopes.get_mut(scope as usize).and_then(|s| s.as_mut()) {
            s.live += 1;
        }
        if let Some(i) = self.tokens.iter().position(|t| t.is_none()) {
            self.tokens[i] = Some(tok);
            i as TokenId
        } else {
            self.tokens.push(Some(tok));
            (self.tokens.len() - 1) as TokenId
        }
    }
    fn remove_token(&mut self, t: TokenId) {
        if let Some(tok) = self.tokens.get_mut(t as usize).and_then(|x| x.take()) {
            if let Some(s) = self
                .scopes
                .get_mut(tok.scope as usize)
                .and_then(|s| s.as_mut())
            {
                s.live = s.live.saturating_sub(1);
            }
        }
    }
    fn new_scope(
        &mut self,
        parent: Option<ScopeId>,
        owner: Option<TokenId>,
        process: u32,
        container: Option<NodeId>,
        kind: ScopeKind,
        vars: Map<String, Value>,
    ) -> ScopeId {
        let s = Some(Scope {
            parent,
            owner,
            process,
            container,
            kind,
            vars,
            live: 0,
            done: Vec::new(),
        });
        // Slot 0 is always the root; reuse freed slots after it.
        if let Some(i) = self.scopes.iter().skip(1).position(|x| x.is_none()) {
            self.scopes[i + 1] = s;
            (i + 1) as ScopeId
        } else {
            self.scopes.push(s);
            (self.scopes.len() - 1) as ScopeId
        }
    }
    fn drop_scope(&mut self, s: ScopeId) {
        if s != 0 {
            if let Some(x) = self.scopes.get_mut(s as usize) {
                *x = None;
            }
        }
    }
    fn add_sub(&mut self, token: Option<TokenId>, scope: ScopeId, node: NodeId, kind: SubKind) {
        let id = self.next_sub;
        self.next_sub += 1;
        self.subs.push(Sub {
            id,
            token,
            scope,
            node,
            kind,
        });
    }

    /// Variable lookup: innermost scope first, stopping at a called process's boundary.
    fn lookup(&self, mut scope: ScopeId, name: &str) -> Option<&Value> {
        loop {
            let s = self.scopes.get(scope as usize)?.as_ref()?;
            if let Some(v) = s.vars.get(name) {
                return Some(v);
            }
            if matches!(s.kind, ScopeKind::Root | ScopeKind::Call) {
                return None;
            }
            scope = s.parent?;
        }
    }

    /// Every variable visible from a scope, innermost winning.
    fn visible_vars(&self, mut scope: ScopeId) -> Map<String, Value> {
        let mut chain = Vec::new();
        while let Some(Some(s)) = self.scopes.get(scope as usize) {
            chain.push(s);
            if matches!(s.kind, ScopeKind::Root | ScopeKind::Call) {
                break;
            }
            match s.parent {
                Some(p) => scope = p,
                None => break,
            }
        }
        let mut out = Map::new();
        for s in chain.into_iter().rev() {
            for (k, v) in &s.vars {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    fn set_var(&mut self, start: ScopeId, name: String, value: Value) {
        let mut scope = start;
        loop {
            let Some(Some(s)) = self.scopes.get(scope as usize) else {
                return;
            };
            if s.vars.contains_key(&name) || matches!(s.kind, ScopeKind::Root | ScopeKind::Call) {
                if let Some(Some(s)) = self.scopes.get_mut(scope as usize) {
                    s.vars.insert(name, value);
                }
                return;
            }
            match s.parent {
                Some(p) => scope = p,
                None => return,
            }
        }
    }
}

fn reverse_reach(d: &Deployment, g: NodeId) -> HashSet<NodeId> {
    let mut seen = HashSet::new();
    let mut stack = vec![g];
    while let Some(n) = stack.pop() {
        for &f in &d.node(n).incoming {
            let src = d.flow(f).source;
            if seen.insert(src) {
                stack.push(src);
                if let NodeKind::Boundary { attached_to, .. } = d.node(src).kind {
                    if seen.insert(attached_to) {
                        stack.push(attached_to);
                    }
                }
            }
        }
    }
    // Link throw events reach their catch events' successors.
    seen
}

fn no_flow(gateway: &str) -> String {
    format!(
        "no outgoing flow of gateway '{gateway}' has a true condition and there is no default flow"
    )
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty())
}

fn value_to_key(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn type_word(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn script_failure(e: &ScriptError) -> String {
    match (e.line, e.column) {
        (Some(l), Some(c)) => format!("script failed at line {l}, column {c}: {}", e.message),
        _ => format!("script failed: {}", e.message),
    }
}
