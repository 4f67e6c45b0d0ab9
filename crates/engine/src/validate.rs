//! Checks a parsed model before it runs.
//!
//! Every problem names the element, its line and column, and says in plain words what is
//! wrong and what it will do at run time, because the reader is usually the analyst who drew the
//! diagram, not an engine developer. Errors stop a deployment; warnings are reported and the
//! model still runs (BPMN allows implicit ends, Camunda ignores a condition on a parallel split).

use crate::model::*;
use crate::script::ScriptError;
use crate::timer;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

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

struct Out {
    problems: Vec<Problem>,
}

impl Out {
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
}

/// Checks a parsed deployment. `script_errors` are the compile failures of its scripts
/// (index = ScriptId into `deployment.sources`).
pub fn validate(d: &Deployment, script_errors: &[(u32, ScriptError)]) -> Vec<Problem> {
    let mut out = Out {
        problems: Vec::new(),
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
                    | Trigger::Multiple,
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
            if !runs_as_rhai(format.as_deref()) {
                let f = format.as_deref().unwrap_or_default().trim();
                out.err(node, format!("script task '{}': Baton runs rhai scripts; '{f}' is not supported (rewrite the script in rhai and set scriptFormat=\"rhai\")", node.id));
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
    if let Some(Looping::Multi(mi)) = &node.looping {
        if mi.cardinality.is_none() && mi.collection.is_none() {
            out.err(node, format!("multi-instance '{}' has neither loopCardinality nor a collection, so Baton cannot tell how many instances to run", node.id));
        }
    }
}

fn check_trigger(
    node: &FlowNode,
    t: &Trigger,
    link_catch: &HashMap<(Option<NodeId>, &str), Vec<NodeId>>,
    out: &mut Out,
) {
    let catching = matches!(
        node.kind,
        NodeKind::StartEvent { .. }
            | NodeKind::IntermediateCatch { .. }
            | NodeKind::Boundary { .. }
    );
    match t {
        // A message catch or receive task without a name is fine (callbacks correlate by
        // correlationKey), but nothing could ever be sent to start a process or sub-process.
        Trigger::Message(None) if matches!(node.kind, NodeKind::StartEvent { .. }) => {
            out.err(node, format!("message start event '{}' does not name its message (messageRef)", node.id));
        }
        Trigger::Signal(None) => out.err(node, format!("signal event '{}' does not name its signal (signalRef)", node.id)),
        Trigger::Timer(def) => check_timer(node, def, out),
        Trigger::Conditional(None) if catching => {
            out.err(node, format!("conditional event '{}' has no condition", node.id));
        }
        Trigger::Link(name)
            if matches!(node.kind, NodeKind::IntermediateThrow { .. }) && !link_catch.contains_key(&(node.parent, name.as_str())) =>
        {
            out.err(node, format!("link throw event '{}' jumps to link '{name}', but no link catch event has that name in the same scope", node.id));
        }
        Trigger::Link(name) if name.is_empty() => out.err(node, format!("link event '{}' has no name", node.id)),
        Trigger::Multiple => out.warn(node, format!("event '{}' has several event definitions; Baton does not execute 'multiple' events yet (see COVERAGE.md)", node.id)),
        Trigger::Compensate | Trigger::Cancel => out.warn(
            node,
            format!("event '{}' is a compensation or cancel event; Baton does not execute compensation or transactions yet and treats it as a plain event (see COVERAGE.md)", node.id),
        ),
        _ => {}
    }
}

fn check_timer(node: &FlowNode, def: &TimerDef, out: &mut Out) {
    let (src, what) = match def {
        TimerDef::Missing => {
            out.err(node, format!("timer event '{}' has no timeDate, timeDuration or timeCycle, so it would never fire", node.id));
            return;
        }
        TimerDef::Date(s) => (s, "timeDate"),
        TimerDef::Duration(s) => (s, "timeDuration"),
        TimerDef::Cycle(s) => (s, "timeCycle"),
    };
    // `${dueDate}` arrives here as `dueDate` (the parser strips the wrapper): an expression
    // evaluated when the timer is armed, not ISO 8601 text to check now. ISO values start with
    // a digit, `P` or `R`; anything else that reads like a name or a call is an expression.
    let t = src.text.trim();
    let first = t.chars().next().unwrap_or(' ');
    let expression = t.contains("${")
        || t.contains("#{")
        || (!first.is_ascii_digit()
            && (t.contains('(')
                || first == '\''
                || first == '"'
                || (first.is_ascii_alphabetic() && first != 'P' && first != 'R')));
    if expression {
        return;
    }
    let parsed = match def {
        TimerDef::Date(_) => timer::parse_date(t).map(drop),
        TimerDef::Duration(_) => timer::parse_duration(t).map(drop),
        TimerDef::Cycle(_) => timer::parse_cycle(t).map(drop),
        TimerDef::Missing => Ok(()),
    };
    if let Err(e) = parsed {
        out.push(
            Severity::Error,
            Some(&node.id),
            src.span,
            format!("timer '{}': {what} {}", node.id, e.0),
        );
    }
}

/// A script task without a `scriptFormat` (or with `rhai`) is a rhai script.
fn runs_as_rhai(format: Option<&str>) -> bool {
    match format.map(str::trim) {
        None | Some("") => true,
        Some(f) => f.eq_ignore_ascii_case("rhai"),
    }
}

fn check_scripts(d: &Deployment, script_errors: &[(u32, ScriptError)], out: &mut Out) {
    if script_errors.is_empty() {
        return;
    }
    // Find the owner of each failing source: a flow (condition) or a node.
    let mut owner: HashMap<ScriptId, (String, &'static str)> = HashMap::new();
    let mut skip: HashSet<ScriptId> = HashSet::new();
    for f in &d.flows {
        if let Some(c) = &f.condition {
            owner.insert(c.id, (f.id.clone(), "condition"));
        }
    }
    for n in &d.nodes {
        let mut add = |s: &Option<Source>, what: &'static str| {
            if let Some(s) = s {
                owner.insert(s.id, (n.id.clone(), what));
            }
        };
        add(&n.correlation_key, "correlationKey");
        add(&n.server_script, "ServerScript");
        if let NodeKind::Task(TaskKind::Script { script, format }) = &n.kind {
            // A script in another language is reported once as unsupported, not as a rhai error.
            if runs_as_rhai(format.as_deref()) {
                add(script, "script");
            } else if let Some(s) = script {
                skip.insert(s.id);
            }
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
    for (id, e) in script_errors {
        let Some(src) = d.sources.get(*id as usize) else {
            continue;
        };
        // Sources with no owner here are timer texts: ISO 8601, not rhai, checked by the timer
        // parser instead. Scripts in another language were already reported as unsupported.
        let Some((elem, what)) = owner.get(id).cloned() else {
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
