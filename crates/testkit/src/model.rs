//! A small fluent builder for BPMN models in tests: diagram-less XML with one process, its
//! elements in the order they were added, the message and signal declarations they use, and
//! sequence flows (with conditions) after the elements.
//!
//! ```
//! use baton_testkit::Model;
//! let xml = Model::process("Review")
//!     .start("s")
//!     .user_task("Check")
//!     .props(&[("ResponsibleUser", "bob")])
//!     .end("e")
//!     .chain(&["s", "Check", "e"])
//!     .xml();
//! assert!(xml.contains(r#"<bpmn:userTask id="Check">"#));
//! ```

/// The namespaces every model built here declares.
pub const NS: &str = r#"xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:custom="http://baton.dev/schema/custom" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;

#[derive(Debug, Clone)]
struct Element {
    tag: &'static str,
    id: String,
    attrs: Vec<(String, String)>,
    props: Vec<(String, String)>,
    inner: String,
}

#[derive(Debug, Clone)]
struct Flow {
    id: String,
    source: String,
    target: String,
    condition: Option<String>,
}

/// One executable process, built element by element. `props` and `named` apply to the element
/// added last.
#[derive(Debug, Clone)]
pub struct Model {
    id: String,
    name: Option<String>,
    decls: Vec<String>,
    elements: Vec<Element>,
    flows: Vec<Flow>,
}

/// Escapes text for an XML attribute or text node.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A timer event definition: `kind` is `timeDuration`, `timeDate` or `timeCycle`.
pub fn timer(kind: &str, value: &str) -> String {
    format!(
        "<bpmn:timerEventDefinition><bpmn:{kind}>{}</bpmn:{kind}></bpmn:timerEventDefinition>",
        escape(value)
    )
}

/// Wraps a process body (elements and flows as raw XML) and declarations into a definitions
/// document, for the few tests that need XML the builder does not make.
pub fn definitions(process_id: &str, decls: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><bpmn:definitions {NS} id="d_{process_id}">{decls}<bpmn:process id="{process_id}" isExecutable="true">{body}</bpmn:process></bpmn:definitions>"#
    )
}

impl Model {
    /// An empty executable process with this id.
    pub fn process(id: &str) -> Model {
        Model {
            id: id.into(),
            name: None,
            decls: Vec::new(),
            elements: Vec::new(),
            flows: Vec::new(),
        }
    }

    /// The process's own `name` attribute.
    pub fn process_name(mut self, name: &str) -> Model {
        self.name = Some(name.into());
        self
    }

    fn push(mut self, tag: &'static str, id: &str, inner: String) -> Model {
        self.elements.push(Element {
            tag,
            id: id.into(),
            attrs: Vec::new(),
            props: Vec::new(),
            inner,
        });
        self
    }

    fn last(&mut self) -> &mut Element {
        self.elements
            .last_mut()
            .expect("add an element before setting its attributes")
    }

    /// Declares `<bpmn:message id name>`.
    pub fn message(mut self, id: &str, name: &str) -> Model {
        self.decls.push(format!(
            r#"<bpmn:message id="{id}" name="{}"/>"#,
            escape(name)
        ));
        self
    }

    /// Declares `<bpmn:signal id name>`.
    pub fn signal(mut self, id: &str, name: &str) -> Model {
        self.decls.push(format!(
            r#"<bpmn:signal id="{id}" name="{}"/>"#,
            escape(name)
        ));
        self
    }

    /// Extension properties (`custom:property name value`) on the element added last.
    pub fn props(mut self, pairs: &[(&str, &str)]) -> Model {
        let el = self.last();
        el.props
            .extend(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        self
    }

    /// Any attribute on the element added last (e.g. `name`, `cancelActivity`, `default`).
    pub fn attr(mut self, name: &str, value: &str) -> Model {
        let el = self.last();
        el.attrs.push((name.into(), value.into()));
        self
    }

    /// The `name` attribute of the element added last.
    pub fn named(self, name: &str) -> Model {
        self.attr("name", name)
    }

    /// A plain start event.
    pub fn start(self, id: &str) -> Model {
        self.push("startEvent", id, String::new())
    }

    /// A message start event for the declared message `message_ref`.
    pub fn start_message(self, id: &str, message_ref: &str) -> Model {
        let inner = format!(r#"<bpmn:messageEventDefinition messageRef="{message_ref}"/>"#);
        self.push("startEvent", id, inner)
    }

    /// A signal start event for the declared signal `signal_ref`.
    pub fn start_signal(self, id: &str, signal_ref: &str) -> Model {
        let inner = format!(r#"<bpmn:signalEventDefinition signalRef="{signal_ref}"/>"#);
        self.push("startEvent", id, inner)
    }

    /// A timer start event (`kind`: timeDuration, timeDate, timeCycle).
    pub fn start_timer(self, id: &str, kind: &str, value: &str) -> Model {
        self.push("startEvent", id, timer(kind, value))
    }

    /// A none end event.
    pub fn end(self, id: &str) -> Model {
        self.push("endEvent", id, String::new())
    }

    /// A user task (form mode).
    pub fn user_task(self, id: &str) -> Model {
        self.push("userTask", id, String::new())
    }

    /// A receive task (webhook mode unless it names a message).
    pub fn receive_task(self, id: &str) -> Model {
        self.push("receiveTask", id, String::new())
    }

    /// A receive task waiting for the declared message `message_ref`.
    pub fn receive_message(self, id: &str, message_ref: &str) -> Model {
        self.push("receiveTask", id, String::new())
            .attr("messageRef", message_ref)
    }

    /// A Rhai script task; `script` is escaped for XML.
    pub fn script_task(self, id: &str, script: &str) -> Model {
        let inner = format!("<bpmn:script>{}</bpmn:script>", escape(script));
        self.push("scriptTask", id, inner)
            .attr("scriptFormat", "rhai")
    }

    /// A JavaScript script task (`scriptFormat="javascript"`); `script` is escaped for XML.
    pub fn js_script_task(self, id: &str, script: &str) -> Model {
        let inner = format!("<bpmn:script>{}</bpmn:script>", escape(script));
        self.push("scriptTask", id, inner)
            .attr("scriptFormat", "javascript")
    }

    /// A service task.
    pub fn service_task(self, id: &str) -> Model {
        self.push("serviceTask", id, String::new())
    }

    /// An exclusive gateway.
    pub fn exclusive(self, id: &str) -> Model {
        self.push("exclusiveGateway", id, String::new())
    }

    /// A parallel gateway.
    pub fn parallel(self, id: &str) -> Model {
        self.push("parallelGateway", id, String::new())
    }

    /// An inclusive gateway.
    pub fn inclusive(self, id: &str) -> Model {
        self.push("inclusiveGateway", id, String::new())
    }

    /// An intermediate catch of the declared message `message_ref`.
    pub fn catch_message(self, id: &str, message_ref: &str) -> Model {
        let inner = format!(r#"<bpmn:messageEventDefinition messageRef="{message_ref}"/>"#);
        self.push("intermediateCatchEvent", id, inner)
    }

    /// An intermediate catch of the declared signal `signal_ref`.
    pub fn catch_signal(self, id: &str, signal_ref: &str) -> Model {
        let inner = format!(r#"<bpmn:signalEventDefinition signalRef="{signal_ref}"/>"#);
        self.push("intermediateCatchEvent", id, inner)
    }

    /// An intermediate timer catch.
    pub fn catch_timer(self, id: &str, kind: &str, value: &str) -> Model {
        self.push("intermediateCatchEvent", id, timer(kind, value))
    }

    /// An intermediate throw of the declared signal `signal_ref`.
    pub fn throw_signal(self, id: &str, signal_ref: &str) -> Model {
        let inner = format!(r#"<bpmn:signalEventDefinition signalRef="{signal_ref}"/>"#);
        self.push("intermediateThrowEvent", id, inner)
    }

    /// A timer boundary event on `attached_to` (interrupting unless `.attr("cancelActivity", "false")`).
    pub fn boundary_timer(self, id: &str, attached_to: &str, kind: &str, value: &str) -> Model {
        self.push("boundaryEvent", id, timer(kind, value))
            .attr("attachedToRef", attached_to)
    }

    /// A signal boundary event on `attached_to`.
    pub fn boundary_signal(self, id: &str, attached_to: &str, signal_ref: &str) -> Model {
        let inner = format!(r#"<bpmn:signalEventDefinition signalRef="{signal_ref}"/>"#);
        self.push("boundaryEvent", id, inner)
            .attr("attachedToRef", attached_to)
    }

    /// An element the builder has no method for, as raw XML inside the process.
    pub fn raw(self, id: &str, xml: &str) -> Model {
        self.push("", id, xml.into())
    }

    /// A sequence flow with a generated id (`f1`, `f2`, ...).
    pub fn flow(self, source: &str, target: &str) -> Model {
        let id = format!("f{}", self.flows.len() + 1);
        self.flow_id(&id, source, target)
    }

    /// A sequence flow with this id.
    pub fn flow_id(mut self, id: &str, source: &str, target: &str) -> Model {
        self.flows.push(Flow {
            id: id.into(),
            source: source.into(),
            target: target.into(),
            condition: None,
        });
        self
    }

    /// A conditional sequence flow (`condition` is the expression inside `${...}`).
    pub fn flow_if(mut self, source: &str, target: &str, condition: &str) -> Model {
        let id = format!("f{}", self.flows.len() + 1);
        self.flows.push(Flow {
            id,
            source: source.into(),
            target: target.into(),
            condition: Some(condition.into()),
        });
        self
    }

    /// Flows between each pair of neighbours in `ids`.
    pub fn chain(mut self, ids: &[&str]) -> Model {
        for pair in ids.windows(2) {
            self = self.flow(pair[0], pair[1]);
        }
        self
    }

    /// The BPMN XML.
    pub fn xml(&self) -> String {
        let mut body = String::new();
        for el in &self.elements {
            if el.tag.is_empty() {
                body.push_str(&el.inner);
                continue;
            }
            body.push_str(&format!("<bpmn:{} id=\"{}\"", el.tag, el.id));
            for (n, v) in &el.attrs {
                body.push_str(&format!(" {n}=\"{}\"", escape(v)));
            }
            if el.props.is_empty() && el.inner.is_empty() {
                body.push_str("/>");
                continue;
            }
            body.push('>');
            if !el.props.is_empty() {
                body.push_str("<bpmn:extensionElements><custom:properties>");
                for (n, v) in &el.props {
                    body.push_str(&format!(
                        r#"<custom:property name="{}" value="{}"/>"#,
                        escape(n),
                        escape(v)
                    ));
                }
                body.push_str("</custom:properties></bpmn:extensionElements>");
            }
            body.push_str(&el.inner);
            body.push_str(&format!("</bpmn:{}>", el.tag));
        }
        for f in &self.flows {
            let head = format!(
                r#"<bpmn:sequenceFlow id="{}" sourceRef="{}" targetRef="{}""#,
                f.id, f.source, f.target
            );
            match &f.condition {
                None => body.push_str(&format!("{head}/>")),
                Some(c) => body.push_str(&format!(
                    r#"{head}><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${{{}}}</bpmn:conditionExpression></bpmn:sequenceFlow>"#,
                    escape(c)
                )),
            }
        }
        let xml = definitions(&self.id, &self.decls.concat(), &body);
        match &self.name {
            None => xml,
            Some(n) => xml.replacen(
                &format!(r#"<bpmn:process id="{}""#, self.id),
                &format!(r#"<bpmn:process id="{}" name="{}""#, self.id, escape(n)),
                1,
            ),
        }
    }
}

/// A process without declarations around a raw body (elements and flows as XML).
pub fn process(process_id: &str, body: &str) -> String {
    definitions(process_id, "", body)
}

/// One sequence flow as raw XML, for bodies written by hand.
pub fn flow(id: &str, source: &str, target: &str) -> String {
    format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{source}" targetRef="{target}"/>"#)
}

/// A bundled template from `bpmn-templates/` (e.g. `payment-approval/PaymentApprovalProcess.bpmn`).
pub fn template(path: &str) -> String {
    let full = format!("{}/../../bpmn-templates/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("template {full}: {e}"))
}
