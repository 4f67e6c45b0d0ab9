//! Reads BPMN 2.0 XML into the model arenas.
//!
//! Two steps: quick-xml events are first gathered into a small element tree (local names,
//! attributes, text, source position), then the tree is walked into `Deployment`. The tree makes
//! forward references (a sequence flow before its target, `attachedToRef`, `default`) simple to
//! resolve, and the models are small. Namespace prefixes are ignored: `bpmn:task`, `bpmn2:task`
//! and a default-namespace `task` all read the same, because vendors disagree on prefixes.
//! Diagram interchange, documentation and unknown extensions are skipped, never fatal.
//!
//! Positions are 1-based lines and columns counted in characters, pointing at the `<` of the
//! element's start tag.

use crate::model::*;
use std::collections::HashMap;

/// A file that cannot be read as BPMN: malformed XML, not BPMN, a dangling reference, ...
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Reads one or more BPMN files (name, text) into one deployment.
pub fn parse(files: &[(&str, &str)]) -> Result<Deployment, ParseError> {
    let mut b = Builder::default();
    for (name, text) in files {
        let lines = LineIndex::new(text);
        let root = read_tree(name, text, &lines)?;
        walk_file(&mut b, name, text, &root, &lines)?;
    }
    Ok(b.dep)
}

// ----- the element tree ----------------------------------------------------------------------

#[derive(Debug, Default)]
struct El {
    /// Local name (prefix removed).
    name: String,
    /// (qualified name, local name, value)
    attrs: Vec<(String, String, String)>,
    children: Vec<El>,
    text: String,
    pos: usize,
}

impl El {
    fn attr(&self, local: &str) -> Option<&str> {
        // Unprefixed attributes first (BPMN's own), then any prefixed one.
        self.attrs
            .iter()
            .find(|(q, l, _)| l == local && !q.contains(':'))
            .or_else(|| self.attrs.iter().find(|(_, l, _)| l == local))
            .map(|(_, _, v)| v.as_str())
    }
    /// A prefixed (extension) attribute by local name, e.g. `camunda:formKey`.
    fn ext_attr(&self, local: &str) -> Option<&str> {
        self.attrs.iter().find(|(q, l, _)| l == local && q.contains(':')).map(|(_, _, v)| v.as_str())
    }
    fn child(&self, local: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == local)
    }
}

struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }
    fn span(&self, text: &str, pos: usize) -> Span {
        let pos = pos.min(text.len());
        let line = self.starts.partition_point(|&s| s <= pos).max(1);
        let start = self.starts[line - 1];
        let column = text.get(start..pos).map(|s| s.chars().count()).unwrap_or(pos - start) + 1;
        Span { line: line as u32, column: column as u32 }
    }
}

fn local(q: &[u8]) -> String {
    let s = String::from_utf8_lossy(q);
    match s.rfind(':') {
        Some(i) => s[i + 1..].to_string(),
        None => s.into_owned(),
    }
}

fn read_tree(file: &str, text: &str, lines: &LineIndex) -> Result<El, ParseError> {
    use quick_xml::events::Event as X;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let err_at = |pos: usize, message: String| {
        let sp = lines.span(text, pos);
        ParseError { file: file.to_string(), line: sp.line, column: sp.column, message }
    };
    let mut stack: Vec<El> = Vec::new();
    let mut root: Option<El> = None;
    let bytes = text.as_bytes();
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| {
            let pos = reader.error_position() as usize;
            err_at(pos, format!("malformed XML: {e}"))
        })?;
        // The element starts at the first '<' after where the previous event ended.
        let mut start = before;
        while start < bytes.len() && bytes[start] != b'<' {
            start += 1;
        }
        match ev {
            X::Start(ref e) | X::Empty(ref e) => {
                let is_empty = matches!(ev, X::Empty(_));
                let mut el = El { name: local(e.name().as_ref()), pos: start, ..Default::default() };
                for a in e.attributes().with_checks(false) {
                    let a = a.map_err(|e| err_at(start, format!("malformed attribute: {e}")))?;
                    let q = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    let l = local(a.key.as_ref());
                    let v = a
                        .unescape_value()
                        .map_err(|e| err_at(start, format!("bad attribute value for '{q}': {e}")))?
                        .into_owned();
                    el.attrs.push((q, l, v));
                }
                if is_empty {
                    match stack.last_mut() {
                        Some(p) => p.children.push(el),
                        None => {
                            root = Some(el);
                        }
                    }
                } else {
                    stack.push(el);
                }
            }
            X::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(err_at(start, "closing tag without an opening tag".into()));
                };
                match stack.last_mut() {
                    Some(p) => p.children.push(el),
                    None => root = Some(el),
                }
            }
            X::Text(t) => {
                if let Some(p) = stack.last_mut() {
                    let s = t.xml_content().map_err(|e| err_at(start, format!("bad text: {e}")))?;
                    p.text.push_str(&s);
                }
            }
            X::CData(t) => {
                if let Some(p) = stack.last_mut() {
                    let s = t.decode().map_err(|e| err_at(start, format!("bad CDATA: {e}")))?;
                    p.text.push_str(&s);
                }
            }
            X::GeneralRef(r) => {
                if let Some(p) = stack.last_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        _ => match r.as_ref() {
                            b"lt" => Some('<'),
                            b"gt" => Some('>'),
                            b"amp" => Some('&'),
                            b"quot" => Some('"'),
                            b"apos" => Some('\''),
                            _ => None,
                        },
                    };
                    match resolved {
                        Some(c) => p.text.push(c),
                        None => {
                            return Err(err_at(
                                start,
                                format!("unknown entity '&{};'", String::from_utf8_lossy(r.as_ref())),
                            ))
                        }
                    }
                }
            }
            X::Eof => break,
            _ => {}
        }
        if root.is_some() && stack.is_empty() {
            // Anything after the root element other than comments/whitespace is ignored.
            break;
        }
    }
    if let Some(open) = stack.last() {
        return Err(err_at(open.pos, format!("the element <{}> is never closed", open.name)));
    }
    root.ok_or_else(|| err_at(0, "the file is empty: no XML element found".into()))
}

// ----- the walk into the model ---------------------------------------------------------------

#[derive(Default)]
struct Builder {
    dep: Deployment,
}

/// Per-process state while walking.
struct ProcCtx<'a> {
    file: &'a str,
    text: &'a str,
    lines: &'a LineIndex,
    pidx: u32,
    ids: HashMap<String, NodeId>,
    /// (flow element, container) pending resolution.
    flows: Vec<(&'a El, Option<NodeId>)>,
    /// (boundary node, attachedToRef, element)
    boundaries: Vec<(NodeId, String, &'a El)>,
    /// (node, default flow id)
    defaults: Vec<(NodeId, String)>,
}

impl Builder {
    /// Checks the root and reads the definitions-level declarations (messages, signals, ...).
    fn file(&mut self, file: &str, root: &El) -> Result<(), ParseError> {
        if root.name != "definitions" {
            return Err(ParseError {
                file: file.to_string(),
                line: 1,
                column: 1,
                message: format!("not a BPMN file: the root element is <{}>, expected <definitions>", root.name),
            });
        }
        for c in &root.children {
            let id = c.attr("id").unwrap_or_default().to_string();
            let name = c.attr("name").map(str::to_string);
            match c.name.as_str() {
                "message" => {
                    self.dep.messages.insert(id.clone(), name.unwrap_or(id));
                }
                "signal" => {
                    self.dep.signals.insert(id.clone(), name.unwrap_or(id));
                }
                "error" => {
                    self.dep.errors.insert(id, (c.attr("errorCode").map(str::to_string), name));
                }
                "escalation" => {
                    self.dep.escalations.insert(id, (c.attr("escalationCode").map(str::to_string), name));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Parses the processes of one file. Split from `Builder::file` so the text is at hand.
fn walk_file(b: &mut Builder, file: &str, text: &str, root: &El, lines: &LineIndex) -> Result<(), ParseError> {
    b.file(file, root)?;
    for p in root.children.iter().filter(|c| c.name == "process") {
        walk_process(b, file, text, lines, p)?;
    }
    Ok(())
}

fn walk_process(b: &mut Builder, file: &str, text: &str, lines: &LineIndex, p: &El) -> Result<(), ParseError> {
    let span = lines.span(text, p.pos);
    let pid = p.attr("id").unwrap_or_default().to_string();
    if pid.is_empty() {
        return Err(ParseError { file: file.into(), line: span.line, column: span.column, message: "a <process> has no id".into() });
    }
    let pidx = b.dep.processes.len() as u32;
    b.dep.processes.push(Process {
        id: pid,
        name: p.attr("name").map(str::to_string),
        is_executable: p.attr("isExecutable").map(|v| v.trim() != "false").unwrap_or(true),
        file: file.to_string(),
        span,
        children: Vec::new(),
        all_nodes: Vec::new(),
        all_flows: Vec::new(),
        lanes: Vec::new(),
    });
    b.dep.files.push(file.to_string());
    let mut cx = ProcCtx {
        file,
        text,
        lines,
        pidx,
        ids: HashMap::new(),
        flows: Vec::new(),
        boundaries: Vec::new(),
        defaults: Vec::new(),
    };
    let children = walk_container(b, &mut cx, p, None)?;
    b.dep.processes[pidx as usize].children = children;
    // Lanes (informational).
    let mut lanes = Vec::new();
    collect_lanes(p, &mut lanes);
    b.dep.processes[pidx as usize].lanes = lanes;

    // Sequence flows.
    for (el, _container) in std::mem::take(&mut cx.flows) {
        let sp = lines.span(text, el.pos);
        let perr = |message: String| ParseError { file: file.into(), line: sp.line, column: sp.column, message };
        let fid = el.attr("id").unwrap_or("(no id)").to_string();
        let mut ends = [0 as NodeId; 2];
        for (i, attr) in ["sourceRef", "targetRef"].iter().enumerate() {
            let r = el.attr(attr).unwrap_or("");
            if r.is_empty() {
                return Err(perr(format!("sequence flow '{fid}' has no {attr}")));
            }
            ends[i] = *cx
                .ids
                .get(r)
                .ok_or_else(|| perr(format!("sequence flow '{fid}': {attr} '{r}' names no flow node in this process")))?;
        }
        let condition = el
            .child("conditionExpression")
            .and_then(|c| make_source(b, &c.text, lines.span(text, c.pos)));
        let flow_idx = b.dep.flows.len() as FlowId;
        b.dep.flows.push(SequenceFlow {
            id: fid,
            name: el.attr("name").map(str::to_string),
            source: ends[0],
            target: ends[1],
            condition,
            span: sp,
        });
        b.dep.nodes[ends[0] as usize].outgoing.push(flow_idx);
        b.dep.nodes[ends[1] as usize].incoming.push(flow_idx);
        b.dep.processes[pidx as usize].all_flows.push(flow_idx);
    }
    // Boundary attachments.
    for (bn, attached, el) in std::mem::take(&mut cx.boundaries) {
        let sp = lines.span(text, el.pos);
        let Some(&act) = cx.ids.get(&attached) else {
            return Err(ParseError {
                file: file.into(),
                line: sp.line,
                column: sp.column,
                message: format!(
                    "boundary event '{}': attachedToRef '{attached}' names no activity in this process",
                    b.dep.nodes[bn as usize].id
                ),
            });
        };
        if let NodeKind::Boundary { attached_to, .. } = &mut b.dep.nodes[bn as usize].kind {
            *attached_to = act;
        }
        b.dep.nodes[act as usize].boundaries.push(bn);
    }
    // Default flows: resolve by id among the node's outgoing flows (validation reports misses).
    for (n, fid) in std::mem::take(&mut cx.defaults) {
        let found = b.dep.nodes[n as usize].outgoing.iter().copied().find(|&f| b.dep.flows[f as usize].id == fid);
        b.dep.nodes[n as usize].default_flow = found;
        if found.is_none() {
            b.dep.nodes[n as usize].properties.push(("baton:unresolvedDefault".into(), fid));
        }
    }
    Ok(())
}

fn collect_lanes(el: &El, out: &mut Vec<(String, Vec<String>)>) {
    for c in &el.children {
        if c.name == "laneSet" || c.name == "childLaneSet" {
            collect_lanes(c, out);
        } else if c.name == "lane" {
            let refs = c.children.iter().filter(|r| r.name == "flowNodeRef").map(|r| r.text.trim().to_string()).collect();
            out.push((c.attr("name").or(c.attr("id")).unwrap_or_default().to_string(), refs));
            collect_lanes(c, out);
        }
    }
}

/// Removes a `${...}` around a whole text (and, for expressions, JUEL's deferred `#{...}`; a
/// script body may legitimately start with a rhai map literal `#{`, so it keeps it).
fn strip_wrapper(text: &str, expression: bool) -> &str {
    let t = text.trim();
    let inner = t
        .strip_prefix("${")
        .or_else(|| if expression { t.strip_prefix("#{") } else { None })
        .and_then(|s| s.strip_suffix('}'));
    match inner {
        Some(i) if !i.contains("${") && !i.contains("#{") => i.trim(),
        _ => t,
    }
}

fn make_source(b: &mut Builder, text: &str, span: Span) -> Option<Source> {
    make_source_as(b, text, span, true)
}

fn make_source_as(b: &mut Builder, text: &str, span: Span, expression: bool) -> Option<Source> {
    let t = strip_wrapper(text, expression);
    if t.is_empty() {
        return None;
    }
    let id = b.dep.sources.len() as ScriptId;
    let s = Source { text: t.to_string(), id, span };
    b.dep.sources.push(s.clone());
    Some(s)
}

fn walk_container<'a>(
    b: &mut Builder,
    cx: &mut ProcCtx<'a>,
    el: &'a El,
    container: Option<NodeId>,
) -> Result<Vec<NodeId>, ParseError> {
    let mut direct = Vec::new();
    for c in &el.children {
        let kind = match c.name.as_str() {
            "sequenceFlow" => {
                cx.flows.push((c, container));
                continue;
            }
            "startEvent" => NodeKind::StartEvent {
                trigger: trigger(b, cx, c),
                interrupting: c.attr("isInterrupting").map(|v| v.trim() != "false").unwrap_or(true),
            },
            "endEvent" => NodeKind::EndEvent { trigger: trigger(b, cx, c) },
            "intermediateCatchEvent" => NodeKind::IntermediateCatch { trigger: trigger(b, cx, c) },
            "intermediateThrowEvent" => NodeKind::IntermediateThrow { trigger: trigger(b, cx, c) },
            "boundaryEvent" => NodeKind::Boundary {
                attached_to: NodeId::MAX,
                trigger: trigger(b, cx, c),
                cancel_activity: c.attr("cancelActivity").map(|v| v.trim() != "false").unwrap_or(true),
            },
            "task" => NodeKind::Task(TaskKind::Task),
            "userTask" => NodeKind::Task(TaskKind::User),
            "manualTask" => NodeKind::Task(TaskKind::Manual),
            "serviceTask" => NodeKind::Task(TaskKind::Service),
            "sendTask" => NodeKind::Task(TaskKind::Send),
            "receiveTask" => NodeKind::Task(TaskKind::Receive),
            "businessRuleTask" => NodeKind::Task(TaskKind::BusinessRule),
            "scriptTask" => {
                let script = c.child("script").and_then(|s| {
                    // Script bodies keep `${` text as written (only whole-wrapper is stripped).
                    make_source_as(b, &s.text, cx.lines.span(cx.text, s.pos), false)
                });
                NodeKind::Task(TaskKind::Script { format: c.attr("scriptFormat").map(str::to_string), script })
            }
            "subProcess" | "transaction" | "adHocSubProcess" => NodeKind::SubProcess(SubProcess {
                triggered_by_event: c.attr("triggeredByEvent").map(|v| v.trim() == "true").unwrap_or(false),
                transaction: c.name == "transaction",
                children: Vec::new(),
            }),
            "callActivity" => NodeKind::CallActivity { called_element: c.attr("calledElement").unwrap_or_default().to_string() },
            "exclusiveGateway" => NodeKind::Gateway(GatewayKind::Exclusive),
            "parallelGateway" => NodeKind::Gateway(GatewayKind::Parallel),
            "inclusiveGateway" => NodeKind::Gateway(GatewayKind::Inclusive),
            "eventBasedGateway" => NodeKind::Gateway(GatewayKind::EventBased),
            "complexGateway" => NodeKind::Gateway(GatewayKind::Complex),
            _ => continue,
        };
        let span = cx.lines.span(cx.text, c.pos);
        let mut id = c.attr("id").unwrap_or_default().to_string();
        if id.is_empty() {
            // The schema makes ids optional; give it a stable one from its position.
            id = format!("{}_L{}C{}", c.name, span.line, span.column);
        }
        if cx.ids.contains_key(&id) {
            return Err(ParseError {
                file: cx.file.into(),
                line: span.line,
                column: span.column,
                message: format!("the id '{id}' is used by two elements in this process"),
            });
        }
        let nid = b.dep.nodes.len() as NodeId;
        let properties = properties(c);
        let mut node = FlowNode {
            id: id.clone(),
            name: c.attr("name").map(str::to_string),
            kind,
            process: cx.pidx,
            parent: container,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            boundaries: Vec::new(),
            default_flow: None,
            looping: None,
            properties,
            correlation_key: None,
            server_script: None,
            span,
        };
        // receiveTask / sendTask messageRef: expose as the `message` property.
        if matches!(node.kind, NodeKind::Task(TaskKind::Receive) | NodeKind::Task(TaskKind::Send)) && node.property("message").is_none() {
            if let Some(r) = c.attr("messageRef") {
                let name = b.dep.messages.get(r).cloned().unwrap_or_else(|| r.to_string());
                node.properties.push(("message".into(), name));
            }
        }
        if let Some(v) = node.property("correlationKey").map(str::to_string) {
            node.correlation_key = make_source(b, &v, span);
        }
        if let Some(v) = node.property("ServerScript").map(str::to_string) {
            node.server_script = make_source_as(b, &v, span, false);
        }
        node.looping = looping(b, cx, c);
        if let Some(d) = c.attr("default") {
            cx.defaults.push((nid, d.to_string()));
        }
        cx.ids.insert(id, nid);
        b.dep.nodes.push(node);
        b.dep.processes[cx.pidx as usize].all_nodes.push(nid);
        if c.name == "boundaryEvent" {
            cx.boundaries.push((nid, c.attr("attachedToRef").unwrap_or_default().to_string(), c));
        }
        direct.push(nid);
        if matches!(b.dep.nodes[nid as usize].kind, NodeKind::SubProcess(_)) {
            let inner = walk_container(b, cx, c, Some(nid))?;
            if let NodeKind::SubProcess(sp) = &mut b.dep.nodes[nid as usize].kind {
                sp.children = inner;
            }
        }
    }
    Ok(direct)
}

/// Extension properties from any `X:properties/X:property`, plus the Camunda attributes Baton
/// understands under Baton's names.
fn properties(c: &El) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some(ext) = c.child("extensionElements") {
        for ps in ext.children.iter().filter(|x| x.name == "properties") {
            for p in ps.children.iter().filter(|x| x.name == "property") {
                if let Some(n) = p.attr("name") {
                    let v = p.attr("value").map(str::to_string).unwrap_or_else(|| p.text.trim().to_string());
                    out.push((n.to_string(), v));
                }
            }
        }
    }
    let map = [
        ("formKey", "FormKey"),
        ("assignee", "ResponsibleUser"),
        ("candidateGroups", "ResponsibleTeam"),
        ("candidateUsers", "CandidateUsers"),
        ("resultVariable", "resultVariable"),
    ];
    for (attr, prop) in map {
        if let Some(v) = c.ext_attr(attr) {
            if !out.iter().any(|(k, _)| k == prop) {
                out.push((prop.to_string(), v.to_string()));
            }
        }
    }
    for attr in ["class", "expression", "delegateExpression", "type", "topic"] {
        if let Some(v) = c.ext_attr(attr) {
            out.push(("camunda:implementation".into(), format!("{attr}={v}")));
            break;
        }
    }
    out
}

fn looping(b: &mut Builder, cx: &ProcCtx, c: &El) -> Option<Looping> {
    if let Some(m) = c.child("multiInstanceLoopCharacteristics") {
        let sp = |e: &El| cx.lines.span(cx.text, e.pos);
        let cardinality = m.child("loopCardinality").and_then(|e| make_source(b, &e.text, sp(e)));
        let completion_condition = m.child("completionCondition").and_then(|e| make_source(b, &e.text, sp(e)));
        let coll_text = m
            .ext_attr("collection")
            .map(str::to_string)
            .or_else(|| m.child("loopDataInputRef").map(|e| e.text.trim().to_string()))
            .filter(|s| !s.is_empty());
        let collection = coll_text.and_then(|t| make_source(b, &t, sp(m)));
        let element_variable = m
            .ext_attr("elementVariable")
            .map(str::to_string)
            .or_else(|| m.child("inputDataItem").and_then(|e| e.attr("name").or(e.attr("id")).map(str::to_string)));
        return Some(Looping::Multi(MultiInstance {
            sequential: m.attr("isSequential").map(|v| v.trim() == "true").unwrap_or(false),
            cardinality,
            collection,
            element_variable,
            completion_condition,
        }));
    }
    if let Some(s) = c.child("standardLoopCharacteristics") {
        let condition = s.child("loopCondition").and_then(|e| make_source(b, &e.text, cx.lines.span(cx.text, e.pos)));
        return Some(Looping::Standard {
            condition,
            test_before: s.attr("testBefore").map(|v| v.trim() == "true").unwrap_or(false),
            maximum: s.attr("loopMaximum").and_then(|v| v.trim().parse().ok()),
        });
    }
    None
}

fn trigger(b: &mut Builder, cx: &ProcCtx, c: &El) -> Trigger {
    let defs: Vec<&El> = c.children.iter().filter(|x| x.name.ends_with("EventDefinition")).collect();
    if defs.len() > 1 {
        return Trigger::Multiple;
    }
    let Some(d) = defs.first() else { return Trigger::None };
    let sp = |e: &El| cx.lines.span(cx.text, e.pos);
    match d.name.as_str() {
        "messageEventDefinition" => {
            Trigger::Message(d.attr("messageRef").map(|r| b.dep.messages.get(r).cloned().unwrap_or_else(|| r.to_string())))
        }
        "signalEventDefinition" => {
            Trigger::Signal(d.attr("signalRef").map(|r| b.dep.signals.get(r).cloned().unwrap_or_else(|| r.to_string())))
        }
        "errorEventDefinition" => Trigger::Error(d.attr("errorRef").map(|r| {
            b.dep.errors.get(r).and_then(|(code, _)| code.clone()).unwrap_or_else(|| r.to_string())
        })),
        "escalationEventDefinition" => Trigger::Escalation(d.attr("escalationRef").map(|r| {
            b.dep.escalations.get(r).and_then(|(code, _)| code.clone()).unwrap_or_else(|| r.to_string())
        })),
        "timerEventDefinition" => {
            let def = if let Some(e) = d.child("timeDate") {
                make_source(b, &e.text, sp(e)).map(TimerDef::Date)
            } else if let Some(e) = d.child("timeDuration") {
                make_source(b, &e.text, sp(e)).map(TimerDef::Duration)
            } else if let Some(e) = d.child("timeCycle") {
                make_source(b, &e.text, sp(e)).map(TimerDef::Cycle)
            } else {
                None
            };
            Trigger::Timer(def.unwrap_or(TimerDef::Missing))
        }
        "conditionalEventDefinition" => {
            Trigger::Conditional(d.child("condition").and_then(|e| make_source(b, &e.text, sp(e))))
        }
        "linkEventDefinition" => Trigger::Link(d.attr("name").unwrap_or_default().to_string()),
        "terminateEventDefinition" => Trigger::Terminate,
        "compensateEventDefinition" => Trigger::Compensate,
        "cancelEventDefinition" => Trigger::Cancel,
        _ => Trigger::None,
    }
}
