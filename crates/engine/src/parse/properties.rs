//! Extension properties (`X:properties/X:property` under `extensionElements`) and the Camunda
//! attributes Baton maps onto its own property names.

use super::xml::El;

/// The property (or `<X:failedJobRetryTimeCycle>` element) that says how a failing timer start
/// event or task is tried again (see [`crate::retry`]).
pub const RETRY_CYCLE: &str = "failedJobRetryTimeCycle";

/// An extension property's name and its `<X:property>` element.
type PropertyEl<'e> = (&'e str, &'e El);

/// Extension properties from any `X:properties/X:property`, plus the Camunda attributes Baton
/// understands under Baton's names. Also returns the property elements by name, so sources made
/// from them (ServerScript, correlationKey) point at the property rather than the task.
pub(super) fn properties(c: &El) -> (Vec<(String, String)>, Vec<PropertyEl<'_>>) {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut els: Vec<PropertyEl> = Vec::new();
    if let Some(ext) = c.child("extensionElements") {
        for ps in ext.children.iter().filter(|x| x.name == "properties") {
            for p in ps.children.iter().filter(|x| x.name == "property") {
                if let Some(n) = p.attr("name") {
                    let v = p
                        .attr("value")
                        .map(str::to_string)
                        .unwrap_or_else(|| p.text.trim().to_string());
                    out.push((n.to_string(), v));
                    els.push((n, p));
                }
            }
        }
    }
    // Camunda's (and its forebears') retry cycle is an element of its own; a property of the
    // same name wins.
    if let Some(ext) = c.child("extensionElements") {
        let written = ext.children.iter().find(|x| x.name == RETRY_CYCLE);
        if let Some(x) = written.filter(|_| !out.iter().any(|(k, _)| k == RETRY_CYCLE)) {
            out.push((RETRY_CYCLE.to_string(), x.text.trim().to_string()));
            els.push((RETRY_CYCLE, x));
        }
    }
    // Explicit properties win over the vendor attributes that mean the same thing.
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
    // A Java/expression implementation cannot run in Baton; recorded so validation can say so.
    if matches!(
        c.name.as_str(),
        "serviceTask" | "sendTask" | "businessRuleTask"
    ) {
        for attr in [
            "class",
            "expression",
            "delegateExpression",
            "type",
            "topic",
            "decisionRef",
        ] {
            if let Some(v) = c.ext_attr(attr) {
                out.push(("camunda:implementation".into(), format!("{attr}={v}")));
                break;
            }
        }
    }
    (out, els)
}
