//! Checks a parsed model before it runs.
//!
//! Every problem names the element, its line and column, and says in plain words what is
//! wrong and what it will do at run time, because the reader is usually the analyst who drew the
//! diagram, not an engine developer. Errors stop a deployment; warnings are reported and the
//! model still runs (BPMN allows implicit ends, Camunda ignores a condition on a parallel split).

use crate::limits::Limits;
use crate::model::*;
use crate::script::ScriptError;
use crate::timer;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

mod events;
mod io;
use events::{check_cancel, check_trigger};
use io::check_io;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One thing wrong with a model, in words a business analyst understands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub severity: Severity,
    pub element_id: Option<String>,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

struct Out<'l> {
    problems: Vec<Problem>,
    /// Checking a definition deployed before: checks added to deploy since then only warn.
    stored: bool,
    limits: &'l Limits,
}

impl Out<'_> {
    fn push(&mut self, severity: Severity, id: Option<&str>, span: Span, message: String) {
        self.problems.push(Problem {
            severity,
            element_id: id.map(str::to_string),
            line: span.line,
            column: span.column,
            message,
        });
    }
    fn err(&mut self, n: &FlowNode, message: String) {
        self.push(Severity::Error, Some(&n.id), n.span, message);
    }
    fn warn(&mut self, n: &FlowNode, message: String) {
        self.push(Severity::Warning, Some(&n.id), n.span, message);
    }
    /// A check added after models were deployed: an error at deploy, a warning for a stored
    /// definition (its instances must keep running; the executor holds against any value).
    fn limit(&mut self, id: &str, span: Span, message: String) {
        let severity = if self.stored {
            Severity::Warning
        } else {
            Severity::Error
        };
        self.push(severity, Some(id), span, message);
    }
}

/// Checks a parsed deployment. `script_errors` are the compile failures of its scripts
/// (index = ScriptId into `deployment.sources`).
pub fn validate(d: &Deployment, script_errors: &[(u32, ScriptError)]) -> Vec<Problem> {
    check(d, script_errors, false, &Limits::default())
}

/// [`validate`] against the host's own [`Limits`] (what `baton lint` and a deploy use when the
/// host configures them): timer cycles, timer durations and constant `loopCardinality` values
/// are checked against them.
pub fn validate_with(
    d: &Deployment,
    script_errors: &[(u32, ScriptError)],
    limits: &Limits,
) -> Vec<Problem> {
    check(d, script_errors, false, limits)
}

/// [`validate_stored`] against the host's own [`Limits`].
pub fn validate_stored_with(
    d: &Deployment,
    script_errors: &[(u32, ScriptError)],
    limits: &Limits,
) -> Vec<Problem> {
    check(d, script_errors, true, limits)
}

/// [`validate`] for a definition that was deployed before (see `Engine::reload`): a
/// `TimeoutMinutes` out of range is a warning, since older versions deployed such models and the
/// executor holds against any value (a non-positive or unreadable one means no timeout, a huge
/// one a due time that never comes).
pub fn validate_stored(d: &Deployment, script_errors: &[(u32, ScriptError)]) -> Vec<Problem> {
    check(d, script_errors, true, &Limits::default())
}

fn check(
    d: &Deployment,
    script_errors: &[(u32, ScriptError)],
    stored: bool,
    limits: &Limits,
) -> Vec<Problem> {
    let mut out = Out {
        problems: Vec::new(),
        stored,
        limits,
    };
    if !d.processes.iter().any(|p| p.is_executable) {
        let span = d
            .processes
            .first()
            .map(|p| p.span)
            .unwrap_or(Span { line: 1, column: 1 });
        let msg = if d.processes.is_empty() {
            "the file contains no process: there is nothing to run".to_string()
        } else {
            "no process is marked executable (isExecutable=\"false\"): there is nothing to run"
                .to_string()
        };
        out.push(
            Severity::Error,
            d.processes.first().map(|p| p.id.as_str()),
            span,
            msg,
        );
    }
    let process_ids: HashSet<&str> = d.processes.iter().map(|p| p.id.as_str()).collect();
    for p in &d.processes {
        check_process(d, p, &process_ids, &mut out);
    }
    for (n, fid) in &d.unresolved_defaults {
        if let Some(node) = d.nodes.get(*n as usize) {
            out.err(node, format!("'{}' names '{fid}' as its default flow, but '{fid}' is not one of its outgoing flows", node.id));
        }
    }
    check_scripts(d, script_errors, &mut out);
    out.problems.sort_by_key(|p| (p.line, p.column));
    out.problems
}

fn is_start(n: &FlowNode) -> bool {
    matches!(n.kind, NodeKind::StartEvent { .. })
}

fn check_process(d: &Deployment, p: &Process, process_ids: &HashSet<&str>, out: &mut Out) {
    if !p.is_executable {
        return;
    }
    // Error, escalation and compensation start events only start event sub-processes.
    let process_start = |n: &FlowNode| {
        matches!(
            &n.kind,
            NodeKind::StartEvent {
                trigger: Trigger::None
                    | Trigger::Message(_)
                    | Trigger::Timer(_)
                    | Trigger::Signal(_)
                    | Trigger::Conditional(_)
                    | Trigger::Multiple { .. },
                ..
            }
        )
    };
    for &c in &p.children {
        let n = d.node(c);
        if is_start(n) && !process_start(n) {
            out.err(n, format!("start event '{}' waits for an error, escalation or compensation, which can only start an event sub-process, not the process itself", n.id));
        }
    }
    if !p.children.iter().any(|&c| process_start(d.node(c))) {
        out.push(
            Severity::Error,
            Some(&p.id),
            p.span,
            format!(
                "process '{}' has no start event, so it can never start",
                p.id
            ),
        );
    }
    // Reachability: from every start event of each container; a sub-process's children are
    // reachable when the sub-process is; boundary events when their activity is; event
    // sub-processes are entry points of their own; a link catch when a link throw of the same
    // name in the same scope is.
    // Link catch names per container.
    let mut link_catch: HashMap<(Option<NodeId>, &str), Vec<NodeId>> = HashMap::new();
    for &n in &p.all_nodes {
        if let NodeKind::IntermediateCatch {
            trigger: Trigger::Link(name),
        } = &d.node(n).kind
        {
            link_catch
                .entry((d.node(n).parent, name.as_str()))
                .or_default()
                .push(n);
        }
    }
    let mut reached: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<NodeId> = Vec::new();
    let entry = |c: &[NodeId], stack: &mut Vec<NodeId>| {
        for &n in c {
            let node = d.node(n);
            // A compensation handler is entered through an association when compensation is
            // thrown, so it (and what it contains) counts as an entry point too.
            if (is_start(node) && node.incoming.is_empty())
                || node.for_compensation
                || matches!(&node.kind, NodeKind::SubProcess(sp) if sp.triggered_by_event)
            {
                stack.push(n);
            }
        }
    };
    entry(&p.children, &mut stack);
    while let Some(n) = stack.pop() {
        if !reached.insert(n) {
            continue;
        }
        let node = d.node(n);
        for &f in &node.outgoing {
            stack.push(d.flow(f).target);
        }
        stack.extend(node.boundaries.iter().copied());
        if let NodeKind::IntermediateThrow {
            trigger: Trigger::Link(name),
        } = &node.kind
        {
            if let Some(targets) = link_catch.get(&(node.parent, name.as_str())) {
                stack.extend(targets.iter().copied());
            }
        }
        if let NodeKind::SubProcess(sp) = &node.kind {
            entry(&sp.children, &mut stack);
        }
    }

    for ((_, name), nodes) in &link_catch {
        if nodes.len() > 1 {
            out.err(d.node(nodes[1]), format!("two link catch events are named '{name}' in the same scope; a link throw could not tell which one to jump to"));
        }
    }

    for &n in &p.all_nodes {
        let node = d.node(n);
        if !reached.contains(&n) && !matches!(node.kind, NodeKind::Boundary { .. }) {
            out.warn(
                node,
                format!(
                    "{} '{}' can never be reached: no path from a start event leads to it",
                    describe(node),
                    node.id
                ),
            );
        }
        check_node(d, node, process_ids, &link_catch, out);
    }
    check_compensation(d, p, out);
}

/// Whether `n` is a compensation event sub-process (an event sub-process started by a
/// compensation start event).
fn is_compensation_esp(d: &Deployment, n: &FlowNode) -> bool {
    match &n.kind {
        NodeKind::SubProcess(sp) if sp.triggered_by_event => sp.children.iter().any(|&c| {
            matches!(
                d.node(c).kind,
                NodeKind::StartEvent {
                    trigger: Trigger::Compensate { .. },
                    ..
                }
            )
        }),
        _ => false,
    }
}

/// Whether compensating `n` can run anything: it has a compensation boundary event, or it is a
/// sub-process with a compensation event sub-process or with something compensable inside.
fn compensable(d: &Deployment, n: NodeId, depth: usize) -> bool {
    let node = d.node(n);
    let has_boundary = node.boundaries.iter().any(|&b| {
        let b = d.node(b);
        b.compensation_handler.is_some()
            && matches!(
                b.kind,
                NodeKind::Boundary {
                    trigger: Trigger::Compensate { .. },
                    ..
                }
            )
    });
    if has_boundary {
        return true;
    }
    match &node.kind {
        NodeKind::SubProcess(sp) if !sp.triggered_by_event && depth < 64 => sp
            .children
            .iter()
            .any(|&c| is_compensation_esp(d, d.node(c)) || compensable(d, c, depth + 1)),
        _ => false,
    }
}

/// Compensation: each compensation boundary event is linked to one handler, handlers stay out
/// of the sequence flow, a throw's `activityRef` names an activity of its own scope, and a
/// compensation event sub-process sits alone inside an embedded sub-process (Camunda 7's rules).
fn check_compensation(d: &Deployment, p: &Process, out: &mut Out) {
    let mut linked: HashSet<NodeId> = HashSet::new();
    let mut boundaries_on: HashMap<NodeId, usize> = HashMap::new();
    let mut esps_in: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for &n in &p.all_nodes {
        let node = d.node(n);
        match &node.kind {
            NodeKind::Boundary {
                attached_to,
                trigger: Trigger::Compensate { .. },
                ..
            } => {
                let count = boundaries_on.entry(*attached_to).or_default();
                *count += 1;
                if *count == 2 {
                    let on = d.nodes.get(*attached_to as usize).map_or("", |a| a.id.as_str());
                    out.err(node, format!("'{on}' has a second compensation boundary event '{}'; an activity can have only one compensation handler", node.id));
                }
                match node.compensation_handler.map(|h| (h, d.node(h))) {
                    // Camunda 7 deploys this too; compensating the activity then does nothing.
                    None => out.warn(node, format!("compensation boundary event '{}' is not connected to a compensation handler, so compensating its activity does nothing: draw an association from it to an activity marked isForCompensation=\"true\"", node.id)),
                    Some((_, h)) if !h.for_compensation || !h.is_activity() => out.err(node, format!("compensation boundary event '{}' is connected to '{}', which is not a compensation handler: the association must lead to a task or sub-process marked isForCompensation=\"true\"", node.id, h.id)),
                    Some((h, _)) => {
                        linked.insert(h);
                    }
                }
                if !node.outgoing.is_empty() {
                    out.warn(node, format!("compensation boundary event '{}' has an outgoing sequence flow that is never taken: when compensation is thrown, its associated handler runs instead", node.id));
                }
            }
            NodeKind::StartEvent {
                trigger: Trigger::Compensate { .. },
                ..
            } => match node.parent.map(|e| (e, d.node(e))) {
                Some((e, esp)) if is_compensation_esp(d, esp) => match esp.parent {
                    Some(sp) => esps_in.entry(sp).or_default().push(e),
                    None => out.err(esp, format!("event sub-process '{}' starts on compensation, which is supported only inside an embedded sub-process (it compensates the sub-process around it), not at process level", esp.id)),
                },
                // At process level the start-event check above already says why.
                None => {}
                Some(_) => out.err(node, format!("start event '{}' waits for compensation, which can only start an event sub-process inside an embedded sub-process", node.id)),
            },
            NodeKind::IntermediateCatch {
                trigger: Trigger::Compensate { .. },
            } => out.err(node, format!("intermediate catch event '{}' waits for compensation, but compensation is caught only by a boundary event (linked to its handler) or by the start event of an event sub-process", node.id)),
            NodeKind::IntermediateThrow {
                trigger: Trigger::Compensate { activity: Some(a), .. },
            }
            | NodeKind::EndEvent {
                trigger: Trigger::Compensate { activity: Some(a), .. },
            } => check_activity_ref(d, p, node, a, out),
            _ => {}
        }
    }
    for (sp, esps) in &esps_in {
        if let Some(&second) = esps.get(1) {
            out.err(d.node(second), format!("sub-process '{}' has more than one event sub-process started by compensation; only one is supported per sub-process", d.node(*sp).id));
        }
        if boundaries_on.contains_key(sp) {
            let n = d.node(*sp);
            out.err(n, format!("sub-process '{}' has both a compensation boundary event and an event sub-process started by compensation; use one of them as its compensation handler", n.id));
        }
    }
    for &n in &p.all_nodes {
        let node = d.node(n);
        if !node.for_compensation || is_compensation_esp(d, node) {
            continue;
        }
        if !node.incoming.is_empty() {
            out.err(node, format!("compensation handler '{}' has an incoming sequence flow; a compensation handler is started only by compensation and must have no incoming or outgoing sequence flow", node.id));
        }
        if !node.outgoing.is_empty() {
            out.err(node, format!("compensation handler '{}' has an outgoing sequence flow; a compensation handler is started only by compensation and must have no incoming or outgoing sequence flow", node.id));
        }
        if !linked.contains(&n) && node.is_activity() {
            out.warn(node, format!("compensation handler '{}' is not associated with any compensation boundary event, so it never runs", node.id));
        }
    }
}

/// A compensation throw's `activityRef` must name an activity of the throw's own scope (from an
/// event sub-process: also of the scope around it, as the executor looks there too).
fn check_activity_ref(d: &Deployment, p: &Process, node: &FlowNode, a: &str, out: &mut Out) {
    let Some(&target) = p.all_nodes.iter().find(|&&n| d.node(n).id == a) else {
        out.err(node, format!("compensation event '{}' names activityRef '{a}', but no element of this process has that id", node.id));
        return;
    };
    let t = d.node(target);
    if !t.is_activity() {
        out.err(node, format!("compensation event '{}' names activityRef '{a}', which is not a task or sub-process", node.id));
        return;
    }
    let mut scopes = vec![node.parent];
    let mut at = node.parent;
    while let Some(esp) = at.map(|e| d.node(e)) {
        if !matches!(&esp.kind, NodeKind::SubProcess(sp) if sp.triggered_by_event) {
            break;
        }
        scopes.push(esp.parent);
        at = esp.parent;
    }
    if !scopes.contains(&t.parent) {
        let here = node.parent.map_or("the process", |e| d.node(e).id.as_str());
        out.err(node, format!("compensation event '{}' names activityRef '{a}', which is not in the same scope ('{here}'): compensation reaches only the activities of its own scope", node.id));
    } else if !compensable(d, target, 0) {
        out.warn(node, format!("compensation event '{}' names activityRef '{a}', which has no compensation handler (no compensation boundary event, nothing compensable inside), so it compensates nothing", node.id));
    }
}

fn describe(n: &FlowNode) -> &'static str {
    match n.kind {
        NodeKind::Gateway(_) => "gateway",
        NodeKind::Task(_) | NodeKind::CallActivity { .. } => "task",
        NodeKind::SubProcess(_) => "sub-process",
        _ => "event",
    }
}

fn check_node(
    d: &Deployment,
    node: &FlowNode,
    process_ids: &HashSet<&str>,
    link_catch: &HashMap<(Option<NodeId>, &str), Vec<NodeId>>,
    out: &mut Out,
) {
    let trigger = match &node.kind {
        NodeKind::StartEvent { trigger, .. }
        | NodeKind::EndEvent { trigger }
        | NodeKind::IntermediateCatch { trigger }
        | NodeKind::IntermediateThrow { trigger }
        | NodeKind::Boundary { trigger, .. } => Some(trigger),
        _ => None,
    };
    if let Some(t) = trigger {
        check_trigger(node, t, link_catch, out);
        if matches!(t, Trigger::Cancel) {
            check_cancel(d, node, out);
        }
    }
    if let Some(io) = &node.io {
        check_io(node, io, out);
    }
    if matches!(node.kind, NodeKind::Task(TaskKind::Receive)) {
        check_timeout_minutes(node, out);
        check_secret_name(node, out);
    }
    let timer_start = node.parent.is_none()
        && matches!(
            node.kind,
            NodeKind::StartEvent {
                trigger: Trigger::Timer(_),
                ..
            }
        );
    if timer_start {
        check_retry_cycle(node, "timer start event", out);
    } else if matches!(node.kind, NodeKind::Task(_)) && node.spec.retry_expr.is_none() {
        // An expression is read when the task fails, from the instance's variables.
        check_retry_cycle(node, "task", out);
    }
    match &node.kind {
        NodeKind::Gateway(kind @ (GatewayKind::Exclusive | GatewayKind::Inclusive))
            if node.outgoing.len() > 1 =>
        {
            let mut all_conditional = true;
            for &f in &node.outgoing {
                let flow = d.flow(f);
                if flow.condition.is_none() && Some(f) != node.default_flow {
                    all_conditional = false;
                    out.push(
                        Severity::Error,
                        Some(&flow.id),
                        flow.span,
                        format!(
                            "gateway '{}' splits the flow, but its outgoing flow '{}' has no condition and is not the default flow; give it a condition or make it the default",
                            node.id, flow.id
                        ),
                    );
                }
            }
            if all_conditional && node.default_flow.is_none() {
                let word = if *kind == GatewayKind::Exclusive {
                    "exclusive"
                } else {
                    "inclusive"
                };
                out.warn(node, format!("{word} gateway '{}' has conditions on every outgoing flow and no default flow: if none is true, the process stops with an incident here", node.id));
            }
        }
        NodeKind::Gateway(GatewayKind::Parallel) => {
            for &f in &node.outgoing {
                let flow = d.flow(f);
                if flow.condition.is_some() {
                    out.push(Severity::Warning, Some(&flow.id), flow.span, format!("flow '{}' leaves a parallel gateway; its condition is ignored (every branch is taken)", flow.id));
                }
            }
        }
        NodeKind::Gateway(GatewayKind::EventBased) => {
            for &f in &node.outgoing {
                let t = d.node(d.flow(f).target);
                let ok = matches!(
                    t.kind,
                    NodeKind::IntermediateCatch { .. } | NodeKind::Task(TaskKind::Receive)
                );
                if !ok {
                    out.err(node, format!("event-based gateway '{}' leads to '{}', but it may only lead to intermediate catch events or receive tasks", node.id, t.id));
                }
            }
        }
        NodeKind::Task(TaskKind::Script { format, script }) => {
            if script.is_none() {
                out.err(node, format!("script task '{}' has no script", node.id));
            }
            if !runs_here(format.as_deref()) {
                let f = format.as_deref().unwrap_or_default().trim();
                out.err(node, format!("script task '{}': Baton runs rhai and JavaScript scripts; '{f}' is not supported (rewrite the script in rhai or JavaScript and set scriptFormat=\"rhai\" or \"javascript\")", node.id));
            }
        }
        NodeKind::Task(TaskKind::Service) | NodeKind::Task(TaskKind::BusinessRule) => {
            if let Some(imp) = node.property("camunda:implementation") {
                out.warn(node, format!("'{}' has a Java/expression implementation ({imp}) that Baton ignores: the task passes straight through", node.id));
            }
        }
        NodeKind::CallActivity { called_element } => {
            if called_element.is_empty() {
                out.err(
                    node,
                    format!(
                        "call activity '{}' does not say which process it calls (calledElement)",
                        node.id
                    ),
                );
            } else if !process_ids.contains(called_element.as_str())
                && !called_element.contains('{')
            {
                out.err(node, format!("call activity '{}' calls process '{called_element}', which is not in the files given", node.id));
            }
        }
        NodeKind::Boundary { attached_to, .. } => {
            let ok = d
                .nodes
                .get(*attached_to as usize)
                .is_some_and(|a| a.is_activity());
            if !ok {
                out.err(
                    node,
                    format!(
                        "boundary event '{}' is not attached to a task or sub-process",
                        node.id
                    ),
                );
            }
        }
        NodeKind::SubProcess(sp) if sp.triggered_by_event => {
            let starts: Vec<&FlowNode> = sp
                .children
                .iter()
                .map(|&c| d.node(c))
                .filter(|c| is_start(c))
                .collect();
            if starts.is_empty() {
                out.err(
                    node,
                    format!("event sub-process '{}' has no start event", node.id),
                );
            }
            for s in starts {
                if let NodeKind::StartEvent {
                    trigger: Trigger::None,
                    ..
                } = s.kind
                {
                    out.err(s, format!("start event '{}' of event sub-process '{}' says nothing about which event starts it (add a message, timer, signal, error, escalation or conditional definition)", s.id, node.id));
                }
            }
        }
        _ => {}
    }
    if node.is_activity() || matches!(node.kind, NodeKind::Gateway(_)) {
        // BPMN ends such a path implicitly (Camunda too), so this is only a warning. A
        // compensation handler and an event sub-process have no outgoing flow by design.
        let event_sub_process =
            matches!(&node.kind, NodeKind::SubProcess(sp) if sp.triggered_by_event);
        if node.outgoing.is_empty() && !node.for_compensation && !event_sub_process {
            out.warn(
                node,
                format!(
                    "{} '{}' has no outgoing flow: the path ends there without an end event",
                    describe(node),
                    node.id
                ),
            );
        }
    }
    if let Some(Looping::Standard {
        maximum: None,
        maximum_text: Some(t),
        ..
    }) = &node.looping
    {
        out.limit(&node.id, node.span, format!("'{}': loopMaximum '{t}' is not a whole number of 0 or more, so the loop would have no maximum: give a whole number such as 10", node.id));
    }
    if let Some(Looping::Multi(mi)) = &node.looping {
        if mi.cardinality.is_none() && mi.collection.is_none() {
            out.err(node, format!("multi-instance '{}' has neither loopCardinality nor a collection, so Baton cannot tell how many instances to run", node.id));
        }
        if mi.collection.is_none() {
            if let Some(c) = &mi.cardinality {
                check_cardinality(node, c, out);
            }
        }
    }
}

/// A `loopCardinality` written as a number: a whole number of 0 or more, at most the
/// `max_cardinality` limit. Expressions are checked when they are evaluated.
fn check_cardinality(node: &FlowNode, c: &Source, out: &mut Out) {
    let t = c.text.trim();
    let Ok(n) = t.parse::<f64>() else {
        return;
    };
    let max = out.limits.max_cardinality;
    let why = if !n.is_finite() {
        "is not a finite number".to_string()
    } else if n < 0.0 || n.fract() != 0.0 {
        "is not a whole number of 0 or more".to_string()
    } else if n > max as f64 {
        format!("is more than the limit of {max} instances")
    } else {
        return;
    };
    out.limit(
        &node.id,
        c.span,
        format!(
            "multi-instance '{}': loopCardinality '{t}' {why}: give a whole number from 0 to {max}",
            node.id
        ),
    );
}

/// `TimeoutMinutes` on a receive task: a finite number of minutes above 0 and at most ten years
/// ([`MAX_TIMEOUT_MINUTES`]), so the callback's due time can always be computed. An empty value
/// means no timeout, as in the designer.
fn check_timeout_minutes(node: &FlowNode, out: &mut Out) {
    let Some(text) = node.property("TimeoutMinutes").map(str::trim) else {
        return;
    };
    if text.is_empty() {
        return;
    }
    // The limit on a timer's wait, in whole minutes (the default: MAX_TIMEOUT_MINUTES).
    let max = (out.limits.max_timer_wait.as_secs() / 60).max(1) as f64;
    let why = match text.parse::<f64>() {
        Err(_) => "is not a number",
        Ok(m) if !m.is_finite() => "is not a finite number",
        Ok(m) if m <= 0.0 => "is not above 0",
        Ok(m) if m > max => "is too long",
        Ok(_) => return,
    };
    let days = out.limits.max_timer_wait.as_secs() / 86_400;
    let span = if days >= 365 && days % 365 == 0 {
        format!("{} years", days / 365)
    } else {
        crate::limits::words(out.limits.max_timer_wait)
    };
    out.limit(
        &node.id,
        node.spec.timeout_span,
        format!(
            "receive task '{}': TimeoutMinutes '{text}' {why}: give a number of minutes above 0 and at most {max} ({span})",
            node.id
        ),
    );
}

/// Whether `name` can name a secret (SetSecretCommand's rule, and `WebhookSecretName`'s): up
/// to 128 letters, digits, `_`, `-` or `.`.
pub fn is_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// `WebhookSecretName` on a receive task: a name SetSecretCommand accepts, beside a
/// `WebhookUrl` it signs.
fn check_secret_name(node: &FlowNode, out: &mut Out) {
    let Some(name) = &node.spec.webhook_secret_name else {
        return;
    };
    let span = node.spec.secret_span;
    if !is_secret_name(name) {
        out.limit(
            &node.id,
            span,
            format!(
                "receive task '{}': WebhookSecretName '{name}' is not a secret's name: up to 128 letters, digits, _, - or .",
                node.id
            ),
        );
    } else if node.spec.webhook_url.is_none() {
        out.push(
            Severity::Warning,
            Some(&node.id),
            span,
            format!(
                "receive task '{}': WebhookSecretName has no effect without a WebhookUrl to sign for",
                node.id
            ),
        );
    }
}

/// `failedJobRetryTimeCycle` on a top-level timer start event or a task (the elements whose
/// failed attempts Baton tries again; elsewhere it is ignored, as Camunda models carry it on
/// other elements for their asynchronous continuations): readable by [`RetryCycle::parse`], and
/// no wait longer than the host lets a timer wait. `what` names the element in the message.
fn check_retry_cycle(node: &FlowNode, what: &str, out: &mut Out) {
    // Empty, as the designer leaves a cleared field: the default.
    let Some(text) = node
        .property(crate::parse::RETRY_CYCLE)
        .filter(|t| !t.trim().is_empty())
    else {
        return;
    };
    // The parser kept the cycle when it read; read again only for the words of an error.
    let why = match &node.spec.retry_cycle {
        None => match crate::retry::RetryCycle::parse(text) {
            Err(why) => why,
            Ok(_) => return,
        },
        Some(c) => match c.too_long_for(out.limits.max_timer_wait) {
            Some(why) => why,
            None => return,
        },
    };
    out.limit(
        &node.id,
        node.spec.retry_span,
        format!("{what} '{}': failedJobRetryTimeCycle {why}", node.id),
    );
}

/// A script task without a `scriptFormat` (or with `rhai`) is a rhai script; `javascript`, `js`
/// and `ecmascript` are JavaScript; any other format cannot run here.
fn runs_here(format: Option<&str>) -> bool {
    !matches!(Language::from_marker(format), Language::Other(_))
}

/// The element each script or expression belongs to, what it is there (`condition`,
/// `ServerScript`, `script`, ...) and the index of its process. Timer texts have no entry: they
/// are ISO 8601, not scripts.
pub(crate) fn source_owners(d: &Deployment) -> HashMap<ScriptId, (String, &'static str, u32)> {
    let mut owner: HashMap<ScriptId, (String, &'static str, u32)> = HashMap::new();
    for f in &d.flows {
        if let Some(c) = &f.condition {
            let process = d.nodes.get(f.source as usize).map_or(0, |n| n.process);
            owner.insert(c.id, (f.id.clone(), "condition", process));
        }
    }
    for n in &d.nodes {
        let mut add = |s: &Option<Source>, what: &'static str| {
            if let Some(s) = s {
                owner.insert(s.id, (n.id.clone(), what, n.process));
            }
        };
        add(&n.correlation_key, "correlationKey");
        add(&n.server_script, "ServerScript");
        if let NodeKind::Task(TaskKind::Script { script, .. }) = &n.kind {
            add(script, "script");
        }
        match &n.kind {
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
            } => add(c, "condition"),
            _ => {}
        }
        match &n.looping {
            Some(Looping::Multi(mi)) => {
                add(&mi.cardinality, "loopCardinality");
                add(&mi.collection, "collection");
                add(&mi.completion_condition, "completionCondition");
            }
            Some(Looping::Standard { condition, .. }) => add(condition, "loopCondition"),
            None => {}
        }
    }
    owner
}

fn check_scripts(d: &Deployment, script_errors: &[(u32, ScriptError)], out: &mut Out) {
    if script_errors.is_empty() {
        return;
    }
    // Find the owner of each failing source: a flow (condition) or a node.
    let owner = source_owners(d);
    // A script task in another language is reported once as unsupported, not as a compile error.
    let skip: HashSet<ScriptId> = d
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Task(TaskKind::Script {
                script: Some(s),
                format,
            }) if !runs_here(format.as_deref()) => Some(s.id),
            _ => None,
        })
        .collect();
    for (id, e) in script_errors {
        let Some(src) = d.sources.get(*id as usize) else {
            continue;
        };
        // Sources with no owner here are timer texts: ISO 8601, not rhai, checked by the timer
        // parser instead. Scripts in another language were already reported as unsupported.
        let Some((elem, what, _)) = owner.get(id).cloned() else {
            continue;
        };
        if skip.contains(id) {
            continue;
        }
        // Point at the line inside the script when rhai knows it: the parser recorded where
        // each line of the text starts in the file.
        let lines = d
            .source_lines
            .get(*id as usize)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let at = match (e.line, lines.first()) {
            (Some(l), Some(_)) => lines.get(l.saturating_sub(1) as usize).map(|s| Span {
                line: s.line,
                column: s.column + e.column.unwrap_or(1).saturating_sub(1),
            }),
            (None, Some(first)) => Some(*first),
            _ => None,
        };
        out.push(
            Severity::Error,
            Some(&elem),
            at.unwrap_or(src.span),
            format!("the {what} of '{elem}' does not compile: {}", e.message),
        );
    }
}
