//! Input and output parameters (`camunda:inputOutput`).

use super::*;

/// Input and output parameters: on activities, each named, no script read from a file, and no
/// outputs on a multi-instance activity (which of its instances would they come from?).
pub(super) fn check_io(node: &FlowNode, io: &IoMapping, out: &mut Out) {
    if !node.is_activity() || is_event_sub(node) {
        out.warn(node, format!("'{}' has input/output parameters, which Baton applies on tasks, embedded sub-processes and call activities only: they are ignored here", node.id));
        return;
    }
    for (which, params) in [("input", &io.inputs), ("output", &io.outputs)] {
        for p in params {
            if p.name.is_empty() {
                out.push(
                    Severity::Error,
                    Some(&node.id),
                    p.span,
                    format!("an {which} parameter of '{}' has no name", node.id),
                );
            }
            if let Some(r) = resource_in(&p.value) {
                out.push(Severity::Error, Some(&node.id), p.span, format!("{which} parameter '{}' of '{}' reads its script from resource '{r}': Baton reads no other files, write the script inline", p.name, node.id));
            }
        }
    }
    if matches!(node.looping, Some(Looping::Multi(_))) {
        if let Some(p) = io.outputs.first() {
            out.push(Severity::Error, Some(&node.id), p.span, format!("multi-instance '{}' has output parameters: each instance would set them in turn; collect the results in a variable from the activity itself instead", node.id));
        }
    }
}

/// A script resource anywhere in a parameter's value.
fn resource_in(v: &IoValue) -> Option<&str> {
    match v {
        IoValue::Resource(r) => Some(r),
        IoValue::List(items) => items.iter().find_map(resource_in),
        IoValue::Map(entries) => entries.iter().find_map(|(_, v)| resource_in(v)),
        _ => None,
    }
}

/// Whether `node` is an event sub-process (its parameters are not applied).
fn is_event_sub(node: &FlowNode) -> bool {
    matches!(&node.kind, NodeKind::SubProcess(sp) if sp.triggered_by_event)
}
