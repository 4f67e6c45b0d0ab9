//! Flow nodes inside a process or sub-process: events, tasks (script bodies, conditions,
//! message references, extension properties), gateways and nested sub-processes; each event's
//! trigger (its event definitions); and loop characteristics (multi-instance and standard).

use super::positions::Doc;
use super::process::{Builder, ProcCtx, Raw};
use super::properties::properties;
use super::xml::El;
use super::ParseError;
use crate::model::*;

impl Builder {
    /// Walks the flow elements directly inside a process or sub-process; returns the nodes.
    pub(super) fn container<'a>(
        &mut self,
        cx: &mut ProcCtx<'a>,
        el: &'a El,
        container: Option<NodeId>,
    ) -> Result<Vec<NodeId>, ParseError> {
        let doc = cx.doc;
        let mut direct = Vec::new();
        for c in &el.children {
            let kind = match c.name.as_str() {
                "sequenceFlow" => {
                    cx.flows.push(c);
                    continue;
                }
                "association" => {
                    cx.associations.push(c);
                    continue;
                }
                "startEvent" => NodeKind::StartEvent {
                    trigger: self.trigger(doc, c),
                    interrupting: c.flag("isInterrupting", true),
                },
                "endEvent" => NodeKind::EndEvent {
                    trigger: self.trigger(doc, c),
                },
                "intermediateCatchEvent" => NodeKind::IntermediateCatch {
                    trigger: self.trigger(doc, c),
                },
                "intermediateThrowEvent" => NodeKind::IntermediateThrow {
                    trigger: self.trigger(doc, c),
                },
                "boundaryEvent" => NodeKind::Boundary {
                    attached_to: NodeId::MAX,
                    trigger: self.trigger(doc, c),
                    cancel_activity: c.flag("cancelActivity", true),
                },
                "task" => NodeKind::Task(TaskKind::Task),
                "userTask" => NodeKind::Task(TaskKind::User),
                "manualTask" => NodeKind::Task(TaskKind::Manual),
                "serviceTask" => NodeKind::Task(TaskKind::Service),
                "sendTask" => NodeKind::Task(TaskKind::Send),
                "receiveTask" => NodeKind::Task(TaskKind::Receive),
                "businessRuleTask" => NodeKind::Task(TaskKind::BusinessRule),
                "scriptTask" => {
                    // A script body keeps a leading `#{` (a rhai map literal), see strip_wrapper.
                    let script = c
                        .child("script")
                        .and_then(|s| self.content_source(doc, s, false));
                    let format = c.attr("scriptFormat");
                    self.mark_language(&script, Language::from_marker(format));
                    NodeKind::Task(TaskKind::Script {
                        format: c.attr("scriptFormat").map(str::to_string),
                        script,
                    })
                }
                "subProcess" | "transaction" | "adHocSubProcess" => {
                    NodeKind::SubProcess(SubProcess {
                        triggered_by_event: c.flag("triggeredByEvent", false),
                        transaction: c.name == "transaction",
                        children: Vec::new(),
                    })
                }
                "callActivity" => NodeKind::CallActivity {
                    called_element: c
                        .attr("calledElement")
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                },
                "exclusiveGateway" => NodeKind::Gateway(GatewayKind::Exclusive),
                "parallelGateway" => NodeKind::Gateway(GatewayKind::Parallel),
                "inclusiveGateway" => NodeKind::Gateway(GatewayKind::Inclusive),
                "eventBasedGateway" => NodeKind::Gateway(GatewayKind::EventBased),
                "complexGateway" => NodeKind::Gateway(GatewayKind::Complex),
                _ => continue,
            };
            let span = doc.span(c.pos);
            let id = match c.attr("id").map(str::trim).filter(|s| !s.is_empty()) {
                Some(id) => id.to_string(),
                // The schema makes ids optional; give it a stable one from its position.
                None => format!("{}_L{}C{}", c.name, span.line, span.column),
            };
            cx.claim(&id, span)?;
            let nid = self.dep.nodes.len() as NodeId;
            let (properties, property_els) = properties(c);
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
                spec: TaskSpec::default(),
                for_compensation: c.flag("isForCompensation", false),
                compensation_handler: None,
                io: self.io_mapping(doc, c),
                span,
            };
            // receiveTask / sendTask messageRef: exposed as the `message` property, so the
            // executor reads a message name from one place whichever way it was drawn.
            if matches!(
                node.kind,
                NodeKind::Task(TaskKind::Receive | TaskKind::Send)
            ) && node.property("message").is_none()
            {
                if let Some(r) = c
                    .attr("messageRef")
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                {
                    let name = self
                        .dep
                        .messages
                        .get(r)
                        .cloned()
                        .unwrap_or_else(|| r.to_string());
                    node.properties.push(("message".into(), name));
                }
            }
            let span_of = |property: &str| {
                property_els
                    .iter()
                    .find(|(name, _)| *name == property)
                    .map_or(span, |(_, el)| doc.span(el.pos))
            };
            node.spec = TaskSpec::resolve(&node, &span_of);
            for (name, el) in property_els {
                let value = el.attr("value").unwrap_or_default();
                let raw = Raw::Attr(el, "value");
                let sp = doc.span(el.pos);
                match name {
                    "correlationKey" if node.correlation_key.is_none() => {
                        node.correlation_key = self.source(doc, value, raw, sp, true);
                    }
                    // A task's retry cycle may be an expression, read when the task fails
                    // (an element of its own or a property's value).
                    crate::parse::RETRY_CYCLE
                        if matches!(node.kind, NodeKind::Task(_))
                            && node.spec.retry_expr.is_none() =>
                    {
                        let (text, raw) = match el.attr("value") {
                            Some(v) => (v, raw),
                            None => (el.text.trim(), Raw::Content(el)),
                        };
                        if text.contains("${") || text.contains("#{") {
                            node.spec.retry_expr = self.source(doc, text, raw, sp, true);
                        }
                    }
                    "ServerScript" if node.server_script.is_none() => {
                        node.server_script = self.source(doc, value, raw, sp, false);
                        // BPMN has no marker here: the host detects (see `Language::Detect`).
                        self.mark_language(&node.server_script, Language::Detect);
                    }
                    _ => {}
                }
            }
            node.looping = self.looping(doc, c);
            if let Some(d) = c.attr("default").map(str::trim).filter(|d| !d.is_empty()) {
                cx.defaults.push((nid, d.to_string()));
            }
            cx.ids.insert(id, nid);
            self.dep.nodes.push(node);
            self.dep.processes[cx.pidx as usize].all_nodes.push(nid);
            if c.name == "boundaryEvent" {
                cx.boundaries.push((
                    nid,
                    c.attr("attachedToRef")
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                    c,
                ));
            }
            direct.push(nid);
            if matches!(self.dep.nodes[nid as usize].kind, NodeKind::SubProcess(_)) {
                let inner = self.container(cx, c, Some(nid))?;
                if let NodeKind::SubProcess(sp) = &mut self.dep.nodes[nid as usize].kind {
                    sp.children = inner;
                }
            }
        }
        Ok(direct)
    }

    fn looping(&mut self, doc: &Doc, c: &El) -> Option<Looping> {
        if let Some(m) = c.child("multiInstanceLoopCharacteristics") {
            let cardinality = m
                .child("loopCardinality")
                .and_then(|e| self.content_source(doc, e, true));
            let completion_condition = m
                .child("completionCondition")
                .and_then(|e| self.content_source(doc, e, true));
            // camunda:collection (any prefix), else the standard loopDataInputRef.
            let collection = match m.ext_attr("collection") {
                Some(v) => self.source(doc, v, Raw::Attr(m, "collection"), doc.span(m.pos), true),
                None => m
                    .child("loopDataInputRef")
                    .and_then(|e| self.content_source(doc, e, true)),
            };
            let element_variable = m
                .ext_attr("elementVariable")
                .map(str::to_string)
                .or_else(|| {
                    m.child("inputDataItem")
                        .and_then(|e| e.attr("name").or(e.attr("id")).map(str::to_string))
                })
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            return Some(Looping::Multi(MultiInstance {
                sequential: m.flag("isSequential", false),
                cardinality,
                collection,
                element_variable,
                completion_condition,
            }));
        }
        if let Some(s) = c.child("standardLoopCharacteristics") {
            let condition = s
                .child("loopCondition")
                .and_then(|e| self.content_source(doc, e, true));
            return Some(Looping::Standard {
                condition,
                test_before: s.flag("testBefore", false),
                maximum: s.attr("loopMaximum").and_then(|v| v.trim().parse().ok()),
                maximum_text: s
                    .attr("loopMaximum")
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty()),
            });
        }
        None
    }

    fn trigger(&mut self, doc: &Doc, c: &El) -> Trigger {
        let defs: Vec<&El> = c
            .children
            .iter()
            .filter(|x| x.name.ends_with("EventDefinition"))
            .collect();
        match defs.as_slice() {
            // Zero definitions: a none event.
            [] => Trigger::None,
            [d] => self.definition(doc, d),
            // Two or more: BPMN's "multiple" event (with `parallelMultiple`, all of them).
            several => Trigger::Multiple {
                parallel: c.flag("parallelMultiple", false),
                each: several.iter().map(|d| self.definition(doc, d)).collect(),
            },
        }
    }

    /// One event definition.
    fn definition(&mut self, doc: &Doc, d: &El) -> Trigger {
        let reference = |attr: &str| d.attr(attr).map(str::trim).filter(|r| !r.is_empty());
        match d.name.as_str() {
            "messageEventDefinition" => Trigger::Message(reference("messageRef").map(|r| {
                self.dep
                    .messages
                    .get(r)
                    .cloned()
                    .unwrap_or_else(|| r.to_string())
            })),
            "signalEventDefinition" => Trigger::Signal(reference("signalRef").map(|r| {
                self.dep
                    .signals
                    .get(r)
                    .cloned()
                    .unwrap_or_else(|| r.to_string())
            })),
            // Errors and escalations match by code; a declaration without a code (or an
            // undeclared ref) is matched by the ref itself, the same on the throw and catch side.
            "errorEventDefinition" => Trigger::Error(reference("errorRef").map(|r| {
                self.dep
                    .errors
                    .get(r)
                    .and_then(|(code, _)| code.clone())
                    .unwrap_or_else(|| r.to_string())
            })),
            "escalationEventDefinition" => {
                Trigger::Escalation(reference("escalationRef").map(|r| {
                    self.dep
                        .escalations
                        .get(r)
                        .and_then(|(code, _)| code.clone())
                        .unwrap_or_else(|| r.to_string())
                }))
            }
            "timerEventDefinition" => {
                let def = if let Some(e) = d.child("timeDate") {
                    self.content_source(doc, e, true).map(TimerDef::Date)
                } else if let Some(e) = d.child("timeDuration") {
                    self.content_source(doc, e, true).map(TimerDef::Duration)
                } else if let Some(e) = d.child("timeCycle") {
                    self.content_source(doc, e, true).map(TimerDef::Cycle)
                } else {
                    None
                };
                Trigger::Timer(def.unwrap_or(TimerDef::Missing))
            }
            "conditionalEventDefinition" => Trigger::Conditional(
                d.child("condition")
                    .and_then(|e| self.content_source(doc, e, true)),
            ),
            "linkEventDefinition" => {
                Trigger::Link(d.attr("name").unwrap_or_default().trim().to_string())
            }
            "terminateEventDefinition" => Trigger::Terminate,
            "compensateEventDefinition" => Trigger::Compensate {
                activity: reference("activityRef").map(str::to_string),
                wait: d.flag("waitForCompletion", true),
            },
            "cancelEventDefinition" => Trigger::Cancel,
            _ => Trigger::None,
        }
    }
}
