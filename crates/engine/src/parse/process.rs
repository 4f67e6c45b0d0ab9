//! The walk of one `<process>` into the model: definitions-level declarations (messages,
//! signals, errors, escalations), script and expression sources, lanes, and the resolution of
//! sequence flows, default flows, boundary attachments and compensation associations.

use super::positions::{attr_value_pos, line_starts_in_file, strip_wrapper, Doc};
use super::xml::El;
use super::{ParseError, MAX_DEPTH};
use crate::model::*;
use std::collections::HashMap;

#[derive(Default)]
pub(super) struct Builder {
    pub(super) dep: Deployment,
}

/// Where a piece of source text came from, so its lines can be placed in the file.
pub(super) enum Raw<'e> {
    /// The text content of this element.
    Content(&'e El),
    /// The value of this attribute (local name) of this element.
    Attr(&'e El, &'static str),
}

/// Per-process state while walking.
pub(super) struct ProcCtx<'a> {
    pub(super) doc: &'a Doc<'a>,
    pub(super) pidx: u32,
    /// Node ids of this process, any depth.
    pub(super) ids: HashMap<String, NodeId>,
    /// Every id of this process (nodes and flows), with where it was first seen.
    seen: HashMap<String, Span>,
    pub(super) flows: Vec<&'a El>,
    /// (boundary node, attachedToRef, element)
    pub(super) boundaries: Vec<(NodeId, String, &'a El)>,
    /// (node, default flow id)
    pub(super) defaults: Vec<(NodeId, String)>,
    /// `association` elements at any depth (they link compensation boundaries to handlers).
    pub(super) associations: Vec<&'a El>,
}

impl ProcCtx<'_> {
    /// Records an id; a second element with the same id is an error, because references
    /// (sourceRef, default, attachedToRef) would be ambiguous.
    pub(super) fn claim(&mut self, id: &str, span: Span) -> Result<(), ParseError> {
        if let Some(first) = self.seen.get(id) {
            return Err(self.doc.error_at(
                span,
                format!(
                    "the id '{id}' is used by two elements in this process (the first at line {}, column {}); ids must be unique",
                    first.line, first.column
                ),
            ));
        }
        self.seen.insert(id.to_string(), span);
        Ok(())
    }
}

impl Builder {
    /// Reads the definitions-level declarations (messages, signals, errors, escalations).
    pub(super) fn declarations(&mut self, root: &El) {
        for c in &root.children {
            let Some(id) = c.attr("id").filter(|s| !s.is_empty()).map(str::to_string) else {
                continue;
            };
            let name = c.attr("name").map(str::to_string);
            match c.name.as_str() {
                "message" => {
                    self.dep.messages.insert(id.clone(), name.unwrap_or(id));
                }
                "signal" => {
                    self.dep.signals.insert(id.clone(), name.unwrap_or(id));
                }
                "error" => {
                    self.dep
                        .errors
                        .insert(id, (c.attr("errorCode").map(str::to_string), name));
                }
                "escalation" => {
                    self.dep
                        .escalations
                        .insert(id, (c.attr("escalationCode").map(str::to_string), name));
                }
                _ => {}
            }
        }
    }

    /// Turns a script or expression text into a `Source` with the next `ScriptId`.
    /// Empty or whitespace-only text is no source at all.
    pub(super) fn source(
        &mut self,
        doc: &Doc,
        text: &str,
        raw: Raw,
        span: Span,
        expression: bool,
    ) -> Option<Source> {
        let t = strip_wrapper(text, expression);
        if t.is_empty() {
            return None;
        }
        let raw_start = match raw {
            Raw::Content(el) => Some(el.content_pos),
            Raw::Attr(el, name) => attr_value_pos(doc.text, el, name),
        };
        let lines = raw_start
            .map(|r| {
                line_starts_in_file(doc.text, r, text, t)
                    .into_iter()
                    .map(|p| doc.span(p))
                    .collect()
            })
            .unwrap_or_default();
        let id = self.dep.sources.len() as ScriptId;
        let s = Source {
            text: t.to_string(),
            id,
            span,
        };
        self.dep.sources.push(s.clone());
        self.dep.source_lines.push(lines);
        self.dep.source_languages.push(Language::Rhai);
        Some(s)
    }

    /// Records the language the model marks `source` with (see [`Language`]).
    pub(super) fn mark_language(&mut self, source: &Option<Source>, language: Language) {
        if let Some(s) = source {
            if let Some(l) = self.dep.source_languages.get_mut(s.id as usize) {
                *l = language;
            }
        }
    }

    /// A source from the text content of `el`, spanned at `el`.
    pub(super) fn content_source(
        &mut self,
        doc: &Doc,
        el: &El,
        expression: bool,
    ) -> Option<Source> {
        let source = self.source(
            doc,
            &el.text,
            Raw::Content(el),
            doc.span(el.pos),
            expression,
        );
        // A tFormalExpression may name its language (`language="javascript"` on a
        // conditionExpression, as Camunda 7 and Flowable models write it).
        if let Some(marker) = el.attr("language") {
            self.mark_language(&source, Language::from_marker(Some(marker)));
        }
        source
    }

    pub(super) fn process(&mut self, doc: &Doc, p: &El) -> Result<(), ParseError> {
        let span = doc.span(p.pos);
        let pid = p.attr("id").unwrap_or_default().trim().to_string();
        if pid.is_empty() {
            // Call activities and deployments address a process by its id; without one it
            // cannot be started or versioned.
            return Err(doc.error_at(span, "a <process> has no id".into()));
        }
        let pidx = self.dep.processes.len() as u32;
        let mut lanes = Vec::new();
        collect_lanes(p, &mut lanes, 0);
        self.dep.processes.push(Process {
            id: pid,
            name: p.attr("name").map(str::to_string),
            is_executable: p.flag("isExecutable", true),
            file: doc.file.to_string(),
            span,
            children: Vec::new(),
            all_nodes: Vec::new(),
            all_flows: Vec::new(),
            lanes,
        });
        self.dep.files.push(doc.file.to_string());
        let mut cx = ProcCtx {
            doc,
            pidx,
            ids: HashMap::new(),
            seen: HashMap::new(),
            flows: Vec::new(),
            boundaries: Vec::new(),
            defaults: Vec::new(),
            associations: Vec::new(),
        };
        let children = self.container(&mut cx, p, None)?;
        self.dep.processes[pidx as usize].children = children;
        self.resolve_flows(&mut cx)?;
        self.resolve_boundaries(&mut cx)?;
        self.resolve_associations(&mut cx);
        // Default flows: resolved among the node's outgoing flows; validation reports misses.
        for (n, fid) in std::mem::take(&mut cx.defaults) {
            let found = self.dep.nodes[n as usize]
                .outgoing
                .iter()
                .copied()
                .find(|&f| self.dep.flows[f as usize].id == fid);
            self.dep.nodes[n as usize].default_flow = found;
            if found.is_none() {
                self.dep.unresolved_defaults.push((n, fid));
            }
        }
        Ok(())
    }

    fn resolve_flows(&mut self, cx: &mut ProcCtx) -> Result<(), ParseError> {
        let doc = cx.doc;
        for el in std::mem::take(&mut cx.flows) {
            let sp = doc.span(el.pos);
            let fid = match el.attr("id").map(str::trim).filter(|s| !s.is_empty()) {
                Some(id) => id.to_string(),
                // The schema makes ids optional; a stable one from the position keeps the flow
                // addressable in messages.
                None => format!("sequenceFlow_L{}C{}", sp.line, sp.column),
            };
            cx.claim(&fid, sp)?;
            let mut ends = [0 as NodeId; 2];
            for (i, attr) in ["sourceRef", "targetRef"].into_iter().enumerate() {
                let r = el.attr(attr).unwrap_or("").trim();
                if r.is_empty() {
                    return Err(doc.error_at(
                        sp,
                        format!(
                            "sequence flow '{fid}' has no {attr}: it must connect two elements"
                        ),
                    ));
                }
                ends[i] = *cx.ids.get(r).ok_or_else(|| {
                    doc.error_at(sp, format!("sequence flow '{fid}': its {attr} '{r}' names no flow node in this process"))
                })?;
            }
            let condition = el
                .child("conditionExpression")
                .and_then(|c| self.content_source(doc, c, true));
            let flow_idx = self.dep.flows.len() as FlowId;
            self.dep.flows.push(SequenceFlow {
                id: fid,
                name: el.attr("name").map(str::to_string),
                source: ends[0],
                target: ends[1],
                condition,
                span: sp,
            });
            self.dep.nodes[ends[0] as usize].outgoing.push(flow_idx);
            self.dep.nodes[ends[1] as usize].incoming.push(flow_idx);
            self.dep.processes[cx.pidx as usize]
                .all_flows
                .push(flow_idx);
        }
        Ok(())
    }

    fn resolve_boundaries(&mut self, cx: &mut ProcCtx) -> Result<(), ParseError> {
        for (bn, attached, el) in std::mem::take(&mut cx.boundaries) {
            let sp = cx.doc.span(el.pos);
            let bid = self.dep.nodes[bn as usize].id.clone();
            if attached.is_empty() {
                return Err(cx.doc.error_at(sp, format!("boundary event '{bid}' has no attachedToRef: it must sit on a task or sub-process")));
            }
            let Some(&act) = cx.ids.get(&attached) else {
                return Err(cx.doc.error_at(
                    sp,
                    format!("boundary event '{bid}': its attachedToRef '{attached}' names no element in this process"),
                ));
            };
            if let NodeKind::Boundary { attached_to, .. } = &mut self.dep.nodes[bn as usize].kind {
                *attached_to = act;
            }
            self.dep.nodes[act as usize].boundaries.push(bn);
        }
        Ok(())
    }

    /// Links each compensation boundary event to the handler its association points to.
    /// Associations also connect text annotations and data, so one that names no flow node, or
    /// does not touch a compensation boundary, is simply not a compensation link. A link drawn
    /// the other way round (handler to boundary) is accepted too.
    fn resolve_associations(&mut self, cx: &mut ProcCtx) {
        let is_comp_boundary = |n: &FlowNode| {
            matches!(
                n.kind,
                NodeKind::Boundary {
                    trigger: Trigger::Compensate { .. },
                    ..
                }
            )
        };
        for el in std::mem::take(&mut cx.associations) {
            let end = |attr: &str| {
                el.attr(attr)
                    .map(str::trim)
                    .and_then(|r| cx.ids.get(r).copied())
            };
            let (Some(src), Some(dst)) = (end("sourceRef"), end("targetRef")) else {
                continue;
            };
            let (boundary, handler) = if is_comp_boundary(&self.dep.nodes[src as usize]) {
                (src, dst)
            } else if is_comp_boundary(&self.dep.nodes[dst as usize])
                && self.dep.nodes[src as usize].for_compensation
            {
                (dst, src)
            } else {
                continue;
            };
            let b = &mut self.dep.nodes[boundary as usize];
            if b.compensation_handler.is_none() {
                b.compensation_handler = Some(handler);
            }
        }
    }
}

fn collect_lanes(el: &El, out: &mut Vec<(String, Vec<String>)>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for c in &el.children {
        if c.name == "laneSet" || c.name == "childLaneSet" {
            collect_lanes(c, out, depth + 1);
        } else if c.name == "lane" {
            let refs = c
                .children
                .iter()
                .filter(|r| r.name == "flowNodeRef")
                .map(|r| r.text.trim().to_string())
                .collect();
            out.push((
                c.attr("name")
                    .or(c.attr("id"))
                    .unwrap_or_default()
                    .to_string(),
                refs,
            ));
            collect_lanes(c, out, depth + 1);
        }
    }
}
